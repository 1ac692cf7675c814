// A json-server middleware for the HTTP target tests (t/jsonserver.sh):
// faults on demand, and what a CMS does that json-server does not.
//
// $SM_FAULTS names a JSON file read at every request:
//   {"mode": "status", "status": 503, "count": N}    N answers of status
//   {"mode": "retry_after", "seconds": S, "count": N} N answers 429
//   {"mode": "close", "count": N}       N connections closed mid-request
//   {"mode": "slow", "ms": MS, "count": N}  N answers held MS first
//   {"mode": "redirect", "to": URL, "count": N}  N answers 307 to URL
//   {"mode": "touch", "count": N}       N items edited right after a GET
// count is lowered as faults are served; absent or 0: none.
// Always: every request is logged to $SM_FAULTS.log (method, URL, the
// Authorization header), every write as answered to $SM_FAULTS.writes
// (method, URL, status, the id, the body's price); with $SM_TOKEN set, a request without
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
    // Each write as answered, in order: METHOD URL STATUS ID PRICE.
    if (req.method !== 'GET') {
      res.on('finish', () => {
        const b = req.body || {};
        const id = b.id !== undefined ? b.id :
          decodeURIComponent(req.path.split('/').pop());
        fs.appendFileSync(file + '.writes', req.method + ' ' +
          req.originalUrl + ' ' + res.statusCode + ' ' + id + ' ' +
          (b.price !== undefined ? b.price : '-') + '\n');
      });
    }
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
      case 'touch':
        // An edit made by hand right after this GET of an item is
        // answered: the write that follows carries a stale If-Match.
        if (req.method === 'GET') {
          res.on('finish', () => {
            const it = itemOf(req);
            if (it !== undefined) {
              it.touched = true;
              req.app.db.write();
            }
          });
        }
        break;
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
