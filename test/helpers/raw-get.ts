// A GET with the request target sent exactly as given, as an attacker's client would send it
// (fetch resolves `.` and `..` segments first), for the path-traversal tests.
import { request as httpRequest } from "node:http";

/** The answer's status and body, read as `encoding` (latin1 keeps any bytes one to one). */
export function rawGet(
  url: string,
  target: string,
  encoding: BufferEncoding = "utf8",
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path: target, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding(encoding);
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
