/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The login form (when a token is configured) and logging out.
import { Hono } from "hono";
import { logIn, logOut, safeNext } from "../auth.ts";
import type { ServerContext, ServerEnv } from "../context.ts";
import { Page } from "../ui/layout.tsx";

export function loginRoutes(context: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const form = (next: string, failed: boolean) => (
    <Page title="Log in">
      <div class="card login">
        <form method="post" action="/login">
          <input type="hidden" name="next" value={next} />
          <label>
            Token
            <input
              type="password"
              name="token"
              autocomplete="current-password"
              required
              autofocus
            />
          </label>
          {failed ? <p class="alert bad">That is not the server's token.</p> : null}
          <p>
            <button type="submit">Log in</button>
          </p>
          <p class="muted">The token is the server.token (or tracking.token) setting.</p>
        </form>
      </div>
    </Page>
  );
  app.get("/login", (c) => {
    if (context.token === undefined) return c.redirect("/", 303);
    return c.html(form(safeNext(c.req.query("next")), false));
  });
  app.post("/login", async (c) => {
    if (context.token === undefined) return c.redirect("/", 303);
    const body = await c.req.parseBody();
    const next = safeNext(typeof body.next === "string" ? body.next : undefined);
    const given = typeof body.token === "string" ? body.token : "";
    if (logIn(c, context.token, given)) return c.redirect(next, 303);
    await new Promise((resolve) => setTimeout(resolve, 250));
    return c.html(form(next, true), 401);
  });
  app.post("/logout", (c) => {
    logOut(c);
    return c.redirect(context.token === undefined ? "/" : "/login", 303);
  });
  return app;
}
