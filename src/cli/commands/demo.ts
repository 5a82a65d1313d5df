// `demo`: runs every pipeline step that exists so far on the embedded defaults and says
// what it did and where the outputs are.
import type { Command } from "commander";
import { createContext } from "../context.ts";
import { printLine } from "../output.ts";

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("run every pipeline step that exists so far on generated data, then summarize")
    .action(async (_options, command: Command) => {
      const context = createContext(command);
      const store = context.openStore();
      try {
        const started = Date.now();
        context.log.info({ store: store.uri }, "checking the object store");
        await store.check();
        const manifest = {
          createdAt: new Date().toISOString(),
          store: store.uri,
          configFile: context.loaded.file ?? null,
          steps: ["storage check"],
        };
        const info = await store.put(
          "demo/manifest.json",
          `${JSON.stringify(manifest, null, 2)}\n`,
        );
        printLine("genre-classifier demo");
        printLine(`  object store   ${store.uri} (reachable, writable)`);
        printLine(`  data folder    ${context.config.dataDir}`);
        printLine(`  manifest       ${store.uri}/${info.key}`);
        printLine(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } finally {
        await store.close();
      }
    });
}
