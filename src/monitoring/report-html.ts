// The HTML report's small pieces: escaping any text that comes from data, the number formats
// the report shows, and the page shell (head with a content security policy that allows nothing
// but the page's own inline style and script, found by their hashes).
import { createHash } from "node:crypto";
import { PAGE_SCRIPT, PAGE_STYLE } from "./report-style.ts";

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text safe inside an element or a quoted attribute. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}

/** A number with a fixed count of decimals; "—" when absent, "NaN", "∞" or "−∞" when not finite. */
export function formatFixed(value: number | null | undefined, decimals: number): string {
  if (value === null || value === undefined) return "—";
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "∞";
  if (value === Number.NEGATIVE_INFINITY) return "−∞";
  return value.toFixed(decimals);
}

/** A short number for axis labels: four significant digits, exponent form when very large or small. */
export function formatShort(value: number): string {
  if (!Number.isFinite(value)) return formatFixed(value, 0);
  const size = Math.abs(value);
  if (size !== 0 && (size >= 1e6 || size < 1e-3)) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

/** A share as a percentage with at most one decimal. */
export function formatPercent(share: number): string {
  if (!Number.isFinite(share)) return formatFixed(share, 0);
  return `${String(Number((share * 100).toFixed(1)))}%`;
}

/** A whole count with thousands separators. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return formatFixed(value, 0);
  return Math.round(value).toLocaleString("en-US");
}

function sha256Source(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

const CONTENT_POLICY = [
  "default-src 'none'",
  `style-src ${sha256Source(PAGE_STYLE)}`,
  `script-src ${sha256Source(PAGE_SCRIPT)}`,
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

/** A whole page around `body`: the viewport for phones, the policy, the style and the script. */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_POLICY}">
<title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style>
</head><body>
${body}
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
