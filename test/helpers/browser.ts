// Debian's chromium driven by playwright-core for page tests: launching it (or the reason to
// skip), watching a page for console errors, page errors, failed requests and requests to any
// other host, and screenshots saved under the test output folder.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** A reason to skip browser tests, or false when chromium is there. */
export const noBrowser: string | false = existsSync(CHROMIUM)
  ? false
  : `no chromium at ${CHROMIUM}`;
/** Where screenshots go: $SCREENSHOT_DIR, else test-output/screenshots in the project. */
export const SCREENSHOT_DIR =
  process.env.SCREENSHOT_DIR ??
  join(new URL("../..", import.meta.url).pathname, "test-output", "screenshots");

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: CHROMIUM });
}

export interface PageWatch {
  /** Every URL the page requested. */
  requests: string[];
  /** Console errors and warnings, page errors, failed requests, requests to other hosts. */
  problems: string[];
}

/** Records what `page` does; `origin` (e.g. http://127.0.0.1:1234) is the only host allowed. */
export function watchPage(page: Page, origin: string): PageWatch {
  const seen: PageWatch = { requests: [], problems: [] };
  page.on("request", (request) => {
    const url = request.url();
    seen.requests.push(url);
    if (!url.startsWith(`${origin}/`) && !url.startsWith("data:") && url !== "about:blank")
      seen.problems.push(`request to another host: ${url}`);
  });
  page.on("requestfailed", (request) => {
    const failure = request.failure()?.errorText ?? "failed";
    // A navigation away cancels what the page had in flight; that is not an error.
    if (failure !== "net::ERR_ABORTED") seen.problems.push(`${request.url()}: ${failure}`);
  });
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning")
      seen.problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => seen.problems.push(`page error: ${error.message}`));
  return seen;
}

/** Saves a full-page screenshot as SCREENSHOT_DIR/<name>.png and gives its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
