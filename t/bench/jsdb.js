// The json-server database of make bench's push over HTTP
// (t/bench/push-http.sh): a JavaScript source, so that json-server keeps
// it in memory (lowdb's Memory adapter) instead of rewriting a JSON file
// on every write, which would make the server O(n) a request.  For the
// same reason the collection gets an id index: lodash-id's getById, which
// json-server calls on every create (its duplicate check), every PUT,
// PATCH and DELETE, scans the whole collection with a toString per item.
// The index answers as the scan would for what json-server does (items
// appended by insert, removed by splice; ids never change in place).
// $JS_MODULES is t/js/node_modules, where json-server found lodash-id.
const lodashId = require(process.env.JS_MODULES + '/lodash-id');
const index = new WeakMap();	// a collection -> { map: id -> item, n }
const scan = lodashId.getById;

lodashId.getById = function (collection, id) {
  if (!Array.isArray(collection)) return scan.call(this, collection, id);
  const key = this.__id();
  let ix = index.get(collection);
  if (ix === undefined || collection.length < ix.n) {
    ix = { map: new Map(), n: 0 };	// first use, or some were removed
    index.set(collection, ix);
  }
  for (; ix.n < collection.length; ix.n++) {
    const d = collection[ix.n];
    if (d && d[key] !== undefined) ix.map.set(String(d[key]), d);
  }
  const d = ix.map.get(String(id));
  return d !== undefined && String(d[key]) === String(id) ? d : undefined;
};

module.exports = () => ({ listings: [] });
