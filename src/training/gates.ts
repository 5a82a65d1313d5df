// The registration gates: whether a freshly trained model may become the champion. Relative
// gates always apply (beat the most-frequent baseline's validation Jaccard by a margin, and be
// no worse than the current champion re-scored on the same validation table); the absolute
// thresholds are optional extras. Pure: numbers in, a decision with its reason out.

export interface GateSettings {
  /** The candidate's Jaccard must exceed the baseline's by at least this much. */
  baselineMargin: number;
  /** The candidate's Jaccard may fall short of the champion's by at most this much. */
  championTolerance: number;
  /** Optional absolute floor on the candidate's validation Jaccard. */
  minJaccard?: number | undefined;
  /** Optional absolute ceiling on the candidate's validation Hamming loss. */
  maxHammingLoss?: number | undefined;
}

export const DEFAULT_GATES: GateSettings = { baselineMargin: 0.02, championTolerance: 0 };

export interface GateInputs {
  candidate: { jaccard: number; hammingLoss: number };
  baseline: { jaccard: number };
  /** The current champion re-scored on the same validation table; absent when there is none. */
  champion?: { version: string; jaccard: number } | undefined;
}

export interface GateCheck {
  gate: "baseline" | "champion" | "min-jaccard" | "max-hamming-loss";
  passed: boolean;
  detail: string;
}

export interface GateDecision {
  register: boolean;
  /** One line naming every check with its numbers; the failed ones first. */
  reason: string;
  checks: GateCheck[];
}

const f = (x: number): string => x.toFixed(4);

export function decideRegistration(inputs: GateInputs, settings: GateSettings): GateDecision {
  const { candidate, baseline, champion } = inputs;
  const checks: GateCheck[] = [];
  const needed = baseline.jaccard + settings.baselineMargin;
  const beatsBaseline = candidate.jaccard >= needed;
  checks.push({
    gate: "baseline",
    passed: beatsBaseline,
    detail: `jaccard ${f(candidate.jaccard)} ${beatsBaseline ? ">=" : "<"} baseline ${f(baseline.jaccard)} + margin ${f(settings.baselineMargin)} = ${f(needed)}`,
  });
  if (champion === undefined) {
    checks.push({ gate: "champion", passed: true, detail: "no champion yet" });
  } else {
    const floor = champion.jaccard - settings.championTolerance;
    const notWorse = candidate.jaccard >= floor;
    checks.push({
      gate: "champion",
      passed: notWorse,
      detail: `jaccard ${f(candidate.jaccard)} ${notWorse ? ">=" : "<"} champion v${champion.version} ${f(champion.jaccard)} - tolerance ${f(settings.championTolerance)} = ${f(floor)}`,
    });
  }
  if (settings.minJaccard !== undefined) {
    const passed = candidate.jaccard >= settings.minJaccard;
    checks.push({
      gate: "min-jaccard",
      passed,
      detail: `jaccard ${f(candidate.jaccard)} ${passed ? ">=" : "<"} minimum ${f(settings.minJaccard)}`,
    });
  }
  if (settings.maxHammingLoss !== undefined) {
    const passed = candidate.hammingLoss <= settings.maxHammingLoss;
    checks.push({
      gate: "max-hamming-loss",
      passed,
      detail: `hamming loss ${f(candidate.hammingLoss)} ${passed ? "<=" : ">"} maximum ${f(settings.maxHammingLoss)}`,
    });
  }
  const failed = checks.filter((c) => !c.passed);
  const register = failed.length === 0;
  const ordered = [...failed, ...checks.filter((c) => c.passed)];
  const reason = `${register ? "passed" : `refused by ${failed.map((c) => c.gate).join(", ")}`}: ${ordered.map((c) => `${c.gate} ${c.passed ? "ok" : "FAILED"} (${c.detail})`).join("; ")}`;
  return { register, reason, checks };
}
