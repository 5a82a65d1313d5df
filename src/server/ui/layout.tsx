/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The frame of every page: head with the server's own stylesheet and scripts (nothing from
// another host), the navigation, the title and the content.
import { raw } from "hono/html";
import type { Child, FC } from "hono/jsx";

export type Section =
  | "overview"
  | "flow-runs"
  | "deployments"
  | "experiments"
  | "models"
  | "predictions"
  | "reports"
  | "predict";

const NAVIGATION: { section: Section; href: string; label: string }[] = [
  { section: "overview", href: "/", label: "Overview" },
  { section: "flow-runs", href: "/flow-runs", label: "Flow runs" },
  { section: "deployments", href: "/deployments", label: "Deployments" },
  { section: "experiments", href: "/experiments", label: "Experiments" },
  { section: "models", href: "/models", label: "Models" },
  { section: "predictions", href: "/predictions", label: "Predictions" },
  { section: "reports", href: "/reports", label: "Reports" },
  { section: "predict", href: "/predict", label: "Predict" },
];

export const ASSETS_VERSION = "1";

export const Page: FC<{
  title: string;
  section?: Section | undefined;
  /** Shown under the title: a short line of context. */
  subtitle?: Child;
  /** Whether to show the log-out button (a token is configured). */
  loggedIn?: boolean | undefined;
  children?: Child;
}> = ({ title, section, subtitle, loggedIn, children }) => (
  <>
    {raw("<!doctype html>")}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false}' />
        <title>{`${title} · genre-classifier`}</title>
        <link rel="icon" href={`/assets/favicon.svg?v=${ASSETS_VERSION}`} type="image/svg+xml" />
        <link rel="stylesheet" href={`/assets/app.css?v=${ASSETS_VERSION}`} />
        <script src={`/assets/htmx.min.js?v=${ASSETS_VERSION}`} defer />
        <script src={`/assets/app.js?v=${ASSETS_VERSION}`} defer />
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/">
            genre-classifier
          </a>
          <nav>
            {NAVIGATION.map((item) => (
              <a
                href={item.href}
                class={item.section === section ? "active" : undefined}
                aria-current={item.section === section ? "page" : undefined}
              >
                {item.label}
              </a>
            ))}
          </nav>
          {loggedIn ? (
            <form method="post" action="/logout" class="logout">
              <button type="submit" class="link">
                Log out
              </button>
            </form>
          ) : null}
        </header>
        <main>
          <h1>{title}</h1>
          {subtitle ? <p class="subtitle">{subtitle}</p> : null}
          {children}
        </main>
      </body>
    </html>
  </>
);
