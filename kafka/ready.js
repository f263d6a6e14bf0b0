// Readiness check used by start.sh: a real metadata round trip through kafkajs (the client the
// engine uses), not just an open port. Retries until the deadline.
//   node kafka/ready.js <brokers> <timeout-seconds>
// Exits 0 and prints "ready: ..." when the broker answers, 1 otherwise.
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const brokers = (process.argv[2] ?? '127.0.0.1:9092').split(',');
const timeoutMs = Number(process.argv[3] ?? 60) * 1000;
const deadline = Date.now() + timeoutMs;

const kafka = new Kafka({
  clientId: 'duality-kafka-ready',
  brokers,
  logLevel: logLevel.NOTHING,
  connectionTimeout: 2000,
  requestTimeout: 5000,
  retry: { retries: 0 },
});

let lastError = 'no attempt';
while (Date.now() < deadline) {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    // A metadata request for all topics: answered by the broker once it has caught up with
    // the controller's metadata log.
    await admin.listTopics();
    const nodes = cluster.brokers.map((b) => `${b.host}:${b.port}`).join(',');
    console.log(`ready: cluster ${cluster.clusterId}, brokers ${nodes}, controller ${cluster.controller}`);
    await admin.disconnect();
    process.exit(0);
  } catch (err) {
    lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    await admin.disconnect().catch(() => {});
    await new Promise((r) => setTimeout(r, 250));
  }
}
console.error(`not ready after ${timeoutMs / 1000}s: ${lastError}`);
process.exit(1);
