// One tablet: a stock RxDB database (memory storage) replicating with the running service
// through replicateGraphQL and RxDB's own query builders — no custom sync code. The e2e tests
// drive it over stdin/stdout, one JSON command per line, one JSON answer per line.
//
//   node tablet.mjs '{"baseUrl":"http://127.0.0.1:8000","token":"...","device":"tab-a"}'
//
// Commands: sync, find, get, insert, patch, remove, offline, online, errors, exit.
import { createInterface } from 'node:readline';
import { createRxDatabase } from 'rxdb';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import {
  replicateGraphQL,
  pullQueryBuilderFromRxSchema,
  pushQueryBuilderFromRxSchema,
  pullStreamBuilderFromRxSchema,
} from 'rxdb/plugins/replication-graphql';

const config = JSON.parse(process.argv[2]);
const str = { type: ['string', 'null'] };
const num = { type: ['number', 'null'] };
const bool = { type: ['boolean', 'null'] };
const id = { type: 'string', maxLength: 40 };
const updatedAt = { type: 'number' };

export const SCHEMAS = {
  customer: {
    version: 0, primaryKey: 'id', type: 'object', required: ['id'],
    properties: {
      id, firstName: str, lastName: str, email: str, phone: str, birthdate: str, language: str,
      homeStoreId: str, primaryAssociateId: str, secondaryAssociateId: str, sizes: str, preferences: str,
      tags: str, vip: bool, loyaltyNumber: str, loyaltyTier: str, loyaltyPoints: num, createdAt: str, updatedAt,
    },
  },
  note: {
    version: 0, primaryKey: 'id', type: 'object', required: ['id'],
    properties: { id, customerId: str, body: str, pinned: bool, visibility: str, authorId: str, createdAt: str, updatedAt },
  },
  consent: {
    version: 0, primaryKey: 'id', type: 'object', required: ['id'],
    properties: {
      id, customerId: str, noticeId: str, purpose: str, status: str, occurredAt: str, expiresAt: str, legalBasis: str,
      channel: str, collectedBy: str, storeId: str, deviceId: str, policyVersion: str, noticeSha256: str, language: str,
      evidence: str, recordedAt: str, updatedAt,
    },
  },
};

const collections = config.collections || Object.keys(SCHEMAS);
const db = await createRxDatabase({ name: `tablet-${config.device}`, storage: getRxStorageMemory(), multiInstance: false });
await db.addCollections(Object.fromEntries(collections.map((name) => [name, { schema: SCHEMAS[name] }])));

const errors = [];
const replications = {};
const wsUrl = config.baseUrl.replace(/^http/, 'ws') + `/graphql?tablet=${encodeURIComponent(config.device)}`;
for (const name of collections) {
  const input = { schema: SCHEMAS[name], checkpointFields: ['id', 'updatedAt'], deletedField: 'deleted', headerFields: ['Authorization'] };
  const state = replicateGraphQL({
    collection: db[name],
    // RxDB keys its WebSocket clients by URL: one per tablet (the query string is ignored by the server).
    url: { http: config.baseUrl + '/graphql', ws: wsUrl },
    headers: { Authorization: `Bearer ${config.token}` },
    pull: {
      queryBuilder: pullQueryBuilderFromRxSchema(name, input),
      streamQueryBuilder: pullStreamBuilderFromRxSchema(name, input),
      batchSize: config.batchSize || 1000,
      includeWsHeaders: true,
    },
    push: { queryBuilder: pushQueryBuilderFromRxSchema(name, input), batchSize: 50 },
    deletedField: 'deleted',
    live: true,
    retryTime: 300,
    waitForLeadership: false,
    replicationIdentifier: `clienteling-${config.device}-${name}`,
  });
  state.error$.subscribe((err) => errors.push({ collection: name, message: String(err && (err.message || err)), code: err && err.code }));
  replications[name] = state;
}

async function syncAll() {
  for (const state of Object.values(replications)) {
    await state.awaitInitialReplication();
    await state.awaitInSync();
  }
}

const handlers = {
  async sync() { const t = Date.now(); await syncAll(); return { ms: Date.now() - t }; },
  async find({ collection }) { return (await db[collection].find().exec()).map((d) => d.toJSON()); },
  async count({ collection }) { return await db[collection].count().exec(); },
  async get({ collection, id: docId }) { const d = await db[collection].findOne(docId).exec(); return d ? d.toJSON() : null; },
  async insert({ collection, doc }) { return (await db[collection].insert(doc)).toJSON(); },
  async patch({ collection, id: docId, patch }) {
    const d = await db[collection].findOne(docId).exec();
    if (!d) throw new Error(`no ${collection} ${docId}`);
    return (await d.incrementalPatch(patch)).toJSON();
  },
  async remove({ collection, id: docId }) { const d = await db[collection].findOne(docId).exec(); await d.remove(); return true; },
  async offline() { for (const s of Object.values(replications)) await s.pause(); return true; },
  async online() { for (const s of Object.values(replications)) await s.start(); await syncAll(); return true; },
  async errors() { return errors; },
  async rawDeleted({ collection, id: docId }) {
    // What the storage still holds for a deleted document (the tombstone RxDB keeps until cleanup).
    const res = await db[collection].storageInstance.findDocumentsById([docId], true);
    const doc = Array.isArray(res) ? res[0] : res[docId];
    return doc || null;
  },
  async exit() { for (const s of Object.values(replications)) await s.cancel(); await db.close(); process.exit(0); },
};

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const command = JSON.parse(line);
  try {
    const result = await handlers[command.cmd](command);
    process.stdout.write(JSON.stringify({ ok: true, result }) + '\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({ ok: false, error: String(err && (err.stack || err)) }) + '\n');
  }
}
