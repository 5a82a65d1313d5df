// Debian's chromium driven by playwright-core for page tests: launching it (or the reason to
// skip), for one test or for a suite's tests, watching a page for console errors, page errors, failed
// requests and requests to any other host, a watched page that records the dialogs it opens,
// logging in through the login form, and screenshots saved under the test output folder.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before } from "node:test";
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

/** Runs `use` with chromium launched for it alone, closed after even when it fails. */
export async function withBrowser<T>(use: (browser: Browser) => Promise<T>): Promise<T> {
  const browser = await launchBrowser();
  try {
    return await use(browser);
  } finally {
    await browser.close();
  }
}

/**
 * Chromium for the tests of the describe block this is called in: launched before them and
 * closed after; the function gives it while they run.
 */
export function suiteBrowser(): () => Browser {
  let browser: Browser | undefined;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  return () => {
    if (browser === undefined) throw new Error("chromium is launched before the suite's tests");
    return browser;
  };
}

export interface WatchedPage {
  page: Page;
  watch: PageWatch;
  /** The messages of the dialogs the page opened (each dismissed). */
  dialogs: string[];
}

/** A new page (1200×900 unless told) watched with `origin` allowed; its dialogs are dismissed. */
export async function openWatchedPage(
  browser: Browser,
  origin: string,
  options: { width?: number; height?: number; timeoutMs?: number } = {},
): Promise<WatchedPage> {
  const page = await browser.newPage({
    viewport: { width: options.width ?? 1200, height: options.height ?? 900 },
  });
  if (options.timeoutMs !== undefined) page.setDefaultTimeout(options.timeoutMs);
  const watch = watchPage(page, origin);
  const dialogs: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return { page, watch, dialogs };
}

/** Logs in with `token` through the login form, and waits for it to open `next` (a path). */
export async function logIn(
  page: Page,
  origin: string,
  token: string,
  next: string,
): Promise<void> {
  await page.goto(`${origin}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${origin}${next}`);
}
