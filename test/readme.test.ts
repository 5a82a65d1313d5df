// Keeps the documentation true to the code: every configuration key and environment variable
// is in docs/configuration.md, every command in docs/commands.md, and the README's quick start
// is the two promised commands.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import type { Command } from "commander";
import { buildProgram } from "../src/cli/main.ts";
import { configKeys } from "../src/config/load.ts";

const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
const configurationPage = await readFile(
  new URL("../docs/configuration.md", import.meta.url),
  "utf8",
);
const commandsPage = await readFile(new URL("../docs/commands.md", import.meta.url), "utf8");

function leafCommands(command: Command, prefix: string[] = []): string[] {
  return command.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    return sub.commands.length > 0 ? leafCommands(sub, path) : [path.join(" ")];
  });
}

describe("README", () => {
  it("documents every configuration key and its environment variable", () => {
    for (const key of configKeys) {
      assert.ok(configurationPage.includes(`\`${key.path}\``), `docs names ${key.path}`);
      assert.ok(configurationPage.includes(`\`${key.envName}\``), `docs names ${key.envName}`);
    }
  });

  it("documents every command", async () => {
    for (const command of leafCommands(await buildProgram())) {
      assert.ok(
        commandsPage.includes(`genre-classifier ${command}`),
        `docs/commands.md documents "genre-classifier ${command}"`,
      );
    }
  });

  it("starts with two commands: install and run the demo, then the tests", () => {
    const quickStart = readme.split("## Quick start")[1]?.split("## ")[0] ?? "";
    const block = /```sh\n([\s\S]*?)```/.exec(quickStart)?.[1]?.trim().split("\n");
    assert.deepEqual(block, ["npm ci && npx genre-classifier demo", "npm test"]);
  });
});
