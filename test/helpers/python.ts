// Debian's python3 (/usr/bin/python3: h5py, scikit-learn, numpy, scipy from apt), the reference
// tools some tests compare with; those cases skip when the modules are not installed.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const PYTHON = "/usr/bin/python3";

/** Whether Debian's python3 can import every module named. */
export function hasPythonModules(...modules: string[]): boolean {
  return (
    existsSync(PYTHON) && spawnSync(PYTHON, ["-c", `import ${modules.join(", ")}`]).status === 0
  );
}

/** A column of the drift JSON, as scripts/drift-reference.py prints it and `drift --json` writes it. */
export interface DriftScriptColumn {
  column: string;
  type: string;
  test: string | null;
  score: number | string | null;
  drift: boolean;
  referenceRows: number;
  currentRows: number;
}
