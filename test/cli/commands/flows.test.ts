// The orchestration commands as a user runs them: a selfcheck run waited for, then shown as a
// tree with its states.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli } from "../../helpers/cli.ts";

describe("flows commands", () => {
  let cwd: string;
  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "gc-flows-cli-"));
  });
  after(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it("runs selfcheck with --wait and shows its task runs as a tree", async () => {
    const run = await runCli(
      [
        "flows",
        "run",
        "selfcheck",
        "--param",
        "tasks=3",
        "--param",
        "fail_once=0.34",
        "--wait",
        "-q",
      ],
      { cwd },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /state: completed/);
    const id = /flow run (\S+)/.exec(run.stdout)?.[1] ?? "";
    const shown = await runCli(["flows", "runs", "show", id.slice(0, 8), "-q"], { cwd });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /├─ selfcheck-item-0 \[completed\] \d+ ms \(2 attempts\)/);
    assert.match(shown.stdout, /└─ selfcheck-summary-0 \[completed\]/);
    const bad = await runCli(["flows", "run", "selfcheck", "--param", "tasks=-2", "-q"], { cwd });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad parameters: tasks/);
  });
});
