// Drives the conformance server (spec_server) through the client `rpc codegen ts` generated
// from its document: calls both ways over WebSocket and HTTP, a notification, an error with
// data, a typed subscription, a topic, and calls from the server answered here. Prints
// `ts: N passed, M failed`; exits 1 on any failure.
import { Api } from "./client.js";
import { Client, LaggedError, RpcError } from "./rpc.js";

// Node's, declared here rather than by @types/node: all the script needs of it.
declare const process: { argv: string[]; exit(code: number): never };

const [wsUrl, httpUrl] = process.argv.slice(2);
let passed = 0;
let failed = 0;

function equal(actual: unknown, expected: unknown, what: string): void {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== e) throw new Error(`${what}: got ${a}, expected ${e}`);
}

async function check(name: string, test: () => Promise<void>): Promise<void> {
  try {
    await test();
    passed++;
  } catch (error) {
    failed++;
    console.error(`FAIL ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function first<T>(items: AsyncIterable<T>, count: number): Promise<T[]> {
  const taken: T[] = [];
  for await (const item of items) {
    taken.push(item);
    if (taken.length === count) break;
  }
  return taken;
}

const client = Client.ws(wsUrl);
const ws = new Api(client);
const http = new Api(Client.http(httpUrl));

await check("a call over WebSocket", async () => equal(await ws.subtract(42, 23), 19, "42 - 23"));
await check("a call over HTTP", async () => equal(await http.subtract(23, 42), -19, "23 - 42"));
await check("an optional param left out, then given", async () => {
  equal(await ws.greet("Ann"), "Hello, Ann!", "default greeting");
  equal(await ws.greet("Ann", "Howdy"), "Howdy, Ann!", "given greeting");
});
await check("a rest param", async () => equal(await http.sum([1, 2, 3]), 6, "sum"));
await check("a notification", async () => {
  await ws.notifyHello([1, 2]);
  equal(await ws.subtract(2, 1), 1, "the connection goes on");
});
await check("an error with data", async () => {
  try {
    await ws.failCustom();
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    equal([error.code, error.message, error.data], [-32001, "custom failure", { reason: "testing" }], "error");
    return;
  }
  throw new Error("failCustom succeeded");
});
await check("a typed subscription", async () => {
  const ticks = await ws.subscribeTicks();
  await ws.broadcastTicks(3, 2);
  const items = await first(ticks, 3);
  equal(items.map((tick) => tick.seq), [0, 1, 2], "seqs");
  await ticks.unsubscribe();
});
await check("a topic", async () => {
  const news = await client.topic<{ title: string }>("news");
  await http.publish("news", { title: "extra" });
  equal(await first(news, 1), [{ title: "extra" }], "the item");
  await news.unsubscribe();
});
// Reads `items` to its end, which must be `LaggedError` after what the buffer held.
async function lagged<T>(items: AsyncIterable<T>): Promise<T[]> {
  const taken: T[] = [];
  try {
    for await (const item of items) taken.push(item);
  } catch (error) {
    if (error instanceof LaggedError) return taken;
    throw error;
  }
  throw new Error(`ended without LaggedError after ${taken.length} items`);
}
await check("a topic read too slowly is cut off", async () => {
  const slow = Client.ws(wsUrl, { subscriptionBuffer: 2 });
  const ticks = await slow.topic<{ seq: number }>("ticks");
  // Pushed before the answer on this connection: all 5 are here when it comes.
  await new Api(slow).broadcastTicks(5, 1);
  equal((await lagged(ticks)).map((tick) => tick.seq), [0, 1], "what the buffer held");
  equal(await new Api(slow).subtract(3, 2), 1, "the connection goes on");
  slow.close();
});
await check("a typed subscription read too slowly is cut off", async () => {
  const slow = Client.ws(wsUrl, { subscriptionBuffer: 2 });
  const ticks = await new Api(slow).subscribeTicks();
  await new Api(slow).broadcastTicks(5, 1);
  // Sent by the subscription's own task, after the answer: give them time to arrive unread.
  await new Promise((resolve) => setTimeout(resolve, 500));
  equal((await lagged(ticks)).map((tick) => tick.seq), [0, 1], "what the buffer held");
  slow.close();
});
await check("a call from the server, answered here", async () => {
  client.handle("add_one", (params) => (params as number[])[0] + 1);
  equal(await ws.callback("add_one", [41]), 42, "answered");
});
await check("an error answered to the server", async () => {
  client.handle("refuse", () => {
    throw new RpcError(-32050, "not today", { why: "testing" });
  });
  try {
    await ws.callback("refuse", []);
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    equal([error.code, error.data], [-32050, { why: "testing" }], "the error, back through the server");
    return;
  }
  throw new Error("the refusal was not passed on");
});

client.close();
console.log(`ts: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
