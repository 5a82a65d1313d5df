// The databases the tracking tests run on: a fresh SQLite file each time, and a fresh
// PostgreSQL database when POSTGRES_TEST_URL names a server (.ci/run starts one); without it
// the PostgreSQL cases are skipped with that reason.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import {
  type RunningTrackingServer,
  startTrackingServer,
} from "../../src/server/tracking-server.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";
import { StoreTrackingClient } from "../../src/tracking/client.ts";
import { openTrackingDatabase } from "../../src/tracking/database.ts";
import { sqliteUri } from "../../src/tracking/uri.ts";

export const POSTGRES_URL = process.env.POSTGRES_TEST_URL;

export interface Backend {
  name: "sqlite" | "postgres";
  /** A reason to skip, or false. */
  skip: string | false;
  /** A fresh, empty tracking database; `drop` removes it. */
  create(): Promise<{ uri: string; drop(): Promise<void> }>;
}

export const backends: Backend[] = [
  {
    name: "sqlite",
    skip: false,
    async create() {
      const dir = await mkdtemp(join(tmpdir(), "gc-tracking-db-"));
      return {
        uri: sqliteUri(join(dir, "tracking.db")),
        drop: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: "postgres",
    skip: POSTGRES_URL
      ? false
      : "POSTGRES_TEST_URL is not set (bash .ci/run starts PostgreSQL and sets it)",
    async create() {
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      const name = `gc_test_${randomBytes(6).toString("hex")}`;
      try {
        await admin.query(`create database ${name}`);
      } finally {
        await admin.end();
      }
      const url = new URL(POSTGRES_URL as string);
      url.pathname = `/${name}`;
      return {
        uri: url.href,
        async drop() {
          const client = new pg.Client({ connectionString: POSTGRES_URL });
          await client.connect();
          try {
            await client.query(`drop database if exists ${name} with (force)`);
          } finally {
            await client.end();
          }
        },
      };
    },
  },
];

export interface TrackingFixture {
  uri: string;
  client: StoreTrackingClient;
  /** The object store's folder. */
  storeRoot: string;
  close(): Promise<void>;
}

/** A store client on a fresh database and a fresh local object store. */
export async function openFixture(backend: Backend): Promise<TrackingFixture> {
  const database = await backend.create();
  const storeRoot = await mkdtemp(join(tmpdir(), "gc-tracking-store-"));
  const store = new LocalObjectStore(storeRoot);
  const client = new StoreTrackingClient(await openTrackingDatabase(database.uri), store);
  return {
    uri: database.uri,
    client,
    storeRoot,
    async close() {
      await client.close();
      await store.close();
      await database.drop();
      await rm(storeRoot, { recursive: true, force: true });
    },
  };
}

export interface ServerFixture extends TrackingFixture {
  server: RunningTrackingServer;
  url: string;
}

export async function startServerFixture(backend: Backend, token?: string): Promise<ServerFixture> {
  const fixture = await openFixture(backend);
  const server = await startTrackingServer({
    client: fixture.client,
    host: "127.0.0.1",
    port: 0,
    token,
  });
  return {
    ...fixture,
    server,
    url: server.url,
    async close() {
      await server.close();
      await fixture.close();
    },
  };
}
