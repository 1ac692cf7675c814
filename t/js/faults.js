// A json-server middleware for the HTTP target tests (t/jsonserver.sh):
// faults on demand, and what a CMS does that json-server does not.
//
// $SM_FAULTS names a JSON file read at every request:
//   {"mode": "status", "status": 503, "count": N}    N answers of status
//   {"mode": "retry_after", "seconds": S, "count": N} N answers 429
//   {"mode": "close", "count": N}       N connections closed mid-request
//   {"mode": "slow", "ms": MS, "count": N}  N answers held MS first
//   {"mode": "redirect", "to": URL, "count": N}  N answers 307 to URL
// count is lowered as faults are served; absent or 0: none.
// Always: every request is logged to $SM_FAULTS.log (method, URL, the
// Authorization header); with $SM_TOKEN set, a request without
// "Authorization: Bearer $SM_TOKEN" is 401; an item has a strong ETag
// (of its JSON) and a PUT, PATCH or DELETE with If-Match that differs
// is 412, as a CMS with optimistic locking answers.
const fs = require('fs');
const crypto = require('crypto');

const file = process.env.SM_FAULTS;
const token = process.env.SM_TOKEN;

function etagOf(item) {
  return '"' + crypto.createHash('sha1').update(JSON.stringify(item))
    .digest('hex') + '"';
}

function itemOf(req) {
  const m = req.path.match(/^\/([^/]+)\/([^/]+)$/);
  if (!m) return undefined;
  const db = req.app.db;
  if (!db || !db.has(m[1]).value()) return undefined;
  return db.get(m[1]).find((x) => String(x.id) === decodeURIComponent(m[2]))
    .value();
}

module.exports = (req, res, next) => {
  if (file) {
    fs.appendFileSync(file + '.log', req.method + ' ' + req.originalUrl +
      ' auth=' + (req.headers.authorization || '-') + '\n');
  }
  if (token && req.headers.authorization !== 'Bearer ' + token) {
    res.status(401).json({ error: 'no or wrong token' });
    return;
  }
  let f = {};
  try { f = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { f = {}; }
  if (f.count > 0) {
    f.count--;
    fs.writeFileSync(file, JSON.stringify(f));
    switch (f.mode) {
      case 'status':
        res.status(f.status).json({ error: 'fault injected' });
        return;
      case 'retry_after':
        res.set('Retry-After', String(f.seconds));
        res.status(429).json({ error: 'slow down' });
        return;
      case 'close':
        req.socket.destroy();
        return;
      case 'slow':
        setTimeout(next, f.ms);
        return;
      case 'redirect':
        res.redirect(307, f.to);
        return;
    }
  }
  const item = itemOf(req);
  if (item !== undefined) {
    const tag = etagOf(item);
    const want = req.headers['if-match'];
    if (want && want !== tag && req.method !== 'GET') {
      res.status(412).json({ error: 'precondition failed' });
      return;
    }
    if (req.method === 'GET') {
      // json-server's own (weak) ETag would replace it: set it last.
      const send = res.send.bind(res);
      res.send = (body) => { res.set('ETag', tag); return send(body); };
    }
  }
  next();
};
