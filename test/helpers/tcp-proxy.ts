// A TCP relay on 127.0.0.1 in front of a real server (PostgreSQL, Redis), for the tests that
// make a dependency go away under a running process: `cut()` closes every connection and stops
// listening (the server is gone), `freeze()` keeps the connections open but stops relaying in
// both directions (the server hangs: requests get no answer, new connections no greeting).
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
  /** host:port of the relay. */
  port: number;
  /** `url` with its host and port replaced by the relay's. */
  via(url: string): string;
  cut(): Promise<void>;
  freeze(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let frozen = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  };
  const server: Server = createServer((client) => {
    track(client);
    if (frozen) return;
    const upstream = connect(target.port, target.host);
    track(upstream);
    const relay = (from: Socket, to: Socket) =>
      from.on("data", (chunk) => {
        if (!frozen) to.write(chunk);
      });
    relay(client, upstream);
    relay(upstream, client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  let closed = false;
  const cut = async () => {
    for (const socket of sockets) socket.destroy();
    if (closed) return;
    closed = true;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    port,
    via(url) {
      const parsed = new URL(url);
      parsed.hostname = "127.0.0.1";
      parsed.port = String(port);
      return parsed.href;
    },
    cut,
    freeze() {
      frozen = true;
    },
    close: cut,
  };
}
