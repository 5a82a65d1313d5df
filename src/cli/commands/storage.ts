// `storage …`: look into and move objects in the configured object store.
import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import { InputError } from "../../common/errors.ts";
import { ObjectNotFoundError, type ObjectStore } from "../../storage/object-store.ts";
import { type CommandContext, createContext } from "../context.ts";
import { formatBytes, printJson, printLine, printTable } from "../output.ts";

async function withStore<T>(
  command: Command,
  work: (store: ObjectStore, context: CommandContext) => Promise<T>,
) {
  const context = createContext(command);
  const store = context.openStore();
  try {
    return await work(store, context);
  } finally {
    await store.close();
  }
}

/** Refuses a download into a folder that does not exist: folders are the user's to create. */
async function checkTargetFile(file: string): Promise<void> {
  const folder = dirname(resolve(file));
  const info = await stat(folder).catch(() => undefined);
  if (info === undefined) {
    throw new InputError(`${file}: the folder ${folder} does not exist (create it first)`);
  }
  if (!info.isDirectory()) throw new InputError(`${file}: ${folder} is not a folder`);
  if ((await stat(file).catch(() => undefined))?.isDirectory()) {
    throw new InputError(`${file} is a folder: name the file to write`);
  }
}

/** Refuses keys without an object before anything is deleted, naming the first. */
async function checkObjectsExist(store: ObjectStore, keys: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const key of keys) if (!(await store.exists(key))) missing.push(key);
  const key = missing[0];
  if (key === undefined) return;
  const below = await store.list(`${key}/`, { recursive: true });
  const count = `${below.objects.length}${below.cursor ? "+" : ""}`;
  const prefix =
    below.objects.length > 0
      ? ` (it is a prefix of ${count} object${count === "1" ? "" : "s"}; rm deletes objects by their whole key)`
      : "";
  const more = missing.length > 1 ? ` (and ${missing.length - 1} more keys without one)` : "";
  throw new InputError(
    `no object at ${JSON.stringify(key)} in ${store.uri}${prefix}${more}: nothing deleted`,
  );
}

export function registerStorageCommands(program: Command): void {
  const storage = program
    .command("storage")
    .description("inspect and move objects in the object store");

  storage
    .command("check")
    .description("check that the object store can be reached and written")
    .action((_options, command: Command) =>
      withStore(command, async (store) => {
        await store.check();
        printLine(`ok: ${store.uri} is reachable and writable`);
      }),
    );

  storage
    .command("ls")
    .description("list objects under a prefix")
    .argument("[prefix]", "key prefix; end it with / for a folder", "")
    .option("-r, --recursive", "list every object below the prefix, not only one level")
    .option("--json", "print JSON lines (key, size, etag, lastModified)")
    .action((prefix: string, options: { recursive?: boolean; json?: boolean }, command: Command) =>
      withStore(command, async (store) => {
        const rows: string[][] = [];
        let cursor: string | undefined;
        let count = 0;
        let bytes = 0;
        do {
          const page = await store.list(prefix, { recursive: options.recursive === true, cursor });
          for (const p of page.prefixes) {
            if (options.json) printLine(JSON.stringify({ prefix: p }));
            else rows.push(["", "", p]);
          }
          for (const o of page.objects) {
            count++;
            bytes += o.size;
            if (options.json) printLine(JSON.stringify(o));
            else rows.push([formatBytes(o.size), o.lastModified.toISOString(), o.key]);
          }
          cursor = page.cursor;
        } while (cursor);
        if (!options.json) {
          printTable(["SIZE", "MODIFIED", "KEY"], rows);
          printLine(`${count} objects, ${formatBytes(bytes)} in ${store.uri}/${prefix}`);
        }
      }),
    );

  storage
    .command("put")
    .description("upload a local file as an object")
    .argument("<file>", "local file")
    .argument("<key>", "object key")
    .action((file: string, key: string, _options, command: Command) =>
      withStore(command, async (store) => {
        const info = await store.putFile(key, file);
        printLine(`stored ${key} (${formatBytes(info.size)}) in ${store.uri}`);
      }),
    );

  storage
    .command("get")
    .description("download an object to a local file, or to stdout with -")
    .argument("<key>", "object key")
    .argument("<file>", "local file, or - for stdout")
    .action((key: string, file: string, _options, command: Command) =>
      withStore(command, async (store) => {
        if (file === "-") {
          await pipeline(await store.getStream(key), process.stdout, { end: false });
          return;
        }
        await checkTargetFile(file);
        const info = await store.getFile(key, file);
        printLine(`wrote ${file} (${formatBytes(info.size)})`);
      }),
    );

  storage
    .command("rm")
    .description("delete objects; refuses, deleting nothing, when a key has no object")
    .argument("<keys...>", "object keys")
    .action((given: string[], _options, command: Command) =>
      withStore(command, async (store) => {
        const keys = [...new Set(given)];
        await checkObjectsExist(store, keys);
        for (const key of keys) await store.delete(key);
        printLine(`deleted ${keys.length} object${keys.length === 1 ? "" : "s"} from ${store.uri}`);
      }),
    );

  storage
    .command("stat")
    .description("print an object's size, etag and modification time")
    .argument("<key>", "object key")
    .action((key: string, _options, command: Command) =>
      withStore(command, async (store) => {
        const info = await store.head(key);
        if (!info) throw new ObjectNotFoundError(store.uri, key);
        printJson(info);
      }),
    );
}
