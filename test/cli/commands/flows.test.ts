// The orchestration commands as a user runs them: a selfcheck run waited for, then shown as a
// tree with its states, listed and shown as JSON, and its log lines; bad names and parameters.
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
    const noValue = await runCli(["flows", "run", "selfcheck", "--param", "tasks", "-q"], { cwd });
    assert.equal(noValue.code, 2);
    assert.match(noValue.stderr, /--param <key=value>.* expected key=value/);
  });

  it("lists and shows flow runs as typed JSON, prints their log lines, and names a run by prefix", async () => {
    const list = await runCli(["flows", "runs", "list", "--json", "-q"], { cwd });
    assert.equal(list.code, 0, list.stderr);
    const [run] = JSON.parse(list.stdout).flow_runs as Record<string, unknown>[];
    assert.ok(run);
    assert.equal(run.flow_name, "selfcheck");
    assert.equal(run.state, "completed");
    assert.deepEqual(run.parameters, { tasks: 3, fail_once: 0.34, sleep_ms: 0, sequential: false });
    assert.equal(run.cancel_requested, false);
    assert.equal(run.parent_flow_run_id, null);
    assert.ok(Number.isInteger(run.created_at) && Number.isInteger(run.ended_at));

    const id = String(run.id);
    const shown = await runCli(["flows", "runs", "show", id.slice(0, 6), "--json", "-q"], { cwd });
    assert.equal(shown.code, 0, shown.stderr);
    const detail = JSON.parse(shown.stdout);
    assert.deepEqual(Object.keys(detail), ["flow_run", "history", "task_runs", "subflows"]);
    assert.deepEqual(detail.flow_run, run);
    assert.deepEqual(
      detail.history.map((h: { state: string }) => h.state),
      ["pending", "running", "completed"],
    );
    assert.deepEqual(Object.keys(detail.history[0]), ["state", "message", "at"]);
    assert.equal(detail.task_runs.length, 4);
    assert.deepEqual(detail.task_runs[0].inputs, { index: 0, sleepMs: 0, failFirstAttempt: true });
    assert.deepEqual(detail.subflows, []);

    const logs = await runCli(["flows", "runs", "logs", id, "--follow", "-q"], { cwd });
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /INFO {2}fanning out 3 tasks/);
    const unknown = await runCli(["flows", "runs", "show", "ffffffff", "-q"], { cwd });
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.trim(), 'genre-classifier: no flow run "ffffffff"');
  });
});
