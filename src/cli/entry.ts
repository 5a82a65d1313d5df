// Process entry point of the `genre-classifier` command.
import { run } from "./main.ts";

process.exitCode = await run(process.argv.slice(2));
