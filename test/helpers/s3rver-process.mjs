// Runs s3rver in a process of its own: s3rver 3.7 encrypts list continuation tokens with DES,
// which Node 20's OpenSSL 3 only offers with --openssl-legacy-provider. Prints {"port":N}
// once listening and stops when its standard input closes.
import S3rver from "s3rver";

const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({
  port: 0,
  address: "127.0.0.1",
  silent: true,
  directory,
  configureBuckets: [{ name: bucket, configs: [] }],
});
const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
process.stdin.resume();
process.stdin.on("end", async () => {
  await server.close();
  process.exit(0);
});
