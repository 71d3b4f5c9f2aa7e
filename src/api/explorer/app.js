'use strict';
// The transfervm explorer. Views live in the URL fragment (#block/<id or height>, #tx/<id>,
// #account/<address>, #search/<text>) because the node routes only this page's exact path.
// Every value from the chain or the URL reaches the page as text (text nodes, .value, or
// validated hrefs): nothing here hands a string to the HTML parser.
(function () {
  const RPC = 'rpc'; // relative: /ext/bc/<chain ID or alias>/rpc, beside this page
  const REFRESH_MS = 4000;
  const LATEST_BLOCKS = 12;
  const MAX_BLOCK_TXS_SHOWN = 500;
  const HISTORY_PAGE = 25;
  // Method absent (-32601) or the node's index disabled (1012): no history here.
  const NO_HISTORY_CODES = [-32601, 1012];

  const CB58 = /^[1-9A-HJ-NP-Za-km-z]{40,60}$/;
  const HEX32 = /^0x[0-9a-fA-F]{64}$/;
  const HEIGHT = /^[0-9]{1,19}$/;
  const DECIMAL = /^[0-9]+$/;

  const view = document.getElementById('view');
  const tipHeight = document.getElementById('tip-height');
  const searchForm = document.getElementById('search');
  const searchInput = document.getElementById('q');

  let rpcId = 0;
  let generation = 0; // bumped on every navigation: answers for an older view are dropped
  let onTip = null; // the current view's refresh, called when the tip moves
  let started = false; // the first tick comes with the first render, not after it

  // ---- JSON-RPC -----------------------------------------------------------------------------

  class RpcError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  async function post(body) {
    const response = await fetch(RPC, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      cache: 'no-store',
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new RpcError(response.status, 'the node answered HTTP ' + response.status);
    }
  }

  function unwrap(answer) {
    if (answer && answer.error) throw new RpcError(answer.error.code, String(answer.error.message));
    if (!answer || !('result' in answer)) throw new RpcError(-32603, 'no result in the answer');
    return answer.result;
  }

  async function call(method, params) {
    return unwrap(await post({ jsonrpc: '2.0', id: ++rpcId, method: method, params: params }));
  }

  // Many calls in one request; each entry is {result} or {error}, in the order asked.
  async function batch(calls) {
    if (calls.length === 0) return [];
    const first = rpcId + 1;
    const body = calls.map(function (c) {
      return { jsonrpc: '2.0', id: ++rpcId, method: c[0], params: c[1] };
    });
    const answers = await post(body);
    if (!Array.isArray(answers)) return calls.map(function () { return answers; });
    const byId = new Map(answers.map(function (a) { return [a.id, a]; }));
    return calls.map(function (_, i) { return byId.get(first + i) || { error: { code: -32603, message: 'no answer' } }; });
  }

  // ---- DOM (text only) ----------------------------------------------------------------------

  // h('td', {class: 'num'}, child, ...): strings become text nodes, never markup.
  function h(tag, props) {
    const e = document.createElement(tag);
    if (props) {
      for (const key of Object.keys(props)) {
        if (key === 'class') e.className = props[key];
        else if (key === 'id') e.id = props[key];
        else if (key === 'title') e.title = props[key];
        else if (key === 'colspan') e.colSpan = props[key];
        else throw new Error('unexpected property ' + key);
      }
    }
    for (let i = 2; i < arguments.length; i++) {
      const child = arguments[i];
      if (child === null || child === undefined) continue;
      e.append(child instanceof Node ? child : String(child));
    }
    return e;
  }

  // A link to one of this page's own views; the target was validated by the caller.
  function viewLink(kind, target, text, cls) {
    const a = h('a', { class: cls || 'mono' }, text);
    a.setAttribute('href', '#' + kind + '/' + target);
    return a;
  }

  function isId(v) { return typeof v === 'string' && (CB58.test(v) || HEX32.test(v)); }
  function isAddress(v) { return typeof v === 'string' && HEX32.test(v); }
  function isHeight(v) { return Number.isSafeInteger(v) && v >= 0; }

  function short(text) {
    return text.length > 22 ? text.slice(0, 10) + '…' + text.slice(-8) : text;
  }

  function blockLink(id, full) {
    return isId(id) ? viewLink('block', id, full ? id : short(id)) : h('span', { class: 'mono' }, String(id));
  }
  function heightLink(height) {
    return isHeight(height) ? viewLink('block', String(height), String(height), '') : String(height);
  }
  function txLink(id, full) {
    const a = isId(id) ? viewLink('tx', id, full ? id : short(id)) : h('span', { class: 'mono' }, String(id));
    a.title = String(id);
    return a;
  }
  function accountLink(address, full) {
    const a = isAddress(address) ? viewLink('account', address, full ? address : short(address)) : h('span', { class: 'mono' }, String(address));
    a.title = String(address);
    return a;
  }

  function amount(value) {
    const text = String(value);
    return DECIMAL.test(text) ? text.replace(/\B(?=(\d{3})+(?!\d))/g, ',') : text;
  }

  function time(ms) {
    if (!Number.isFinite(ms)) return String(ms);
    return new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  }

  // A block's time with its age beside it; the genesis block has none.
  function when(ms) {
    if (ms === 0) return h('span', { class: 'muted' }, 'genesis');
    return h('span', null, time(ms).replace(' UTC', ''), h('span', { class: 'muted age' }, age(ms)));
  }

  function age(ms) {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return Math.floor(s / 86400) + ' d ago';
  }

  function badge(status) {
    const text = String(status);
    return h('span', { class: 'badge ' + (/^[a-z]+$/.test(text) ? text : '') }, text);
  }

  function fields(rows, ids) {
    const body = h('tbody');
    for (const row of rows) {
      const cell = h('td', ids && ids[row[0]] ? { id: ids[row[0]] } : null, row[1]);
      body.append(h('tr', null, h('th', null, row[0]), cell));
    }
    return h('div', { class: 'panel' }, h('table', { class: 'fields' }, body));
  }

  // columns: [[title, isNumeric]]; rows: arrays of cells.
  function table(columns, rows, empty) {
    const head = h('tr');
    for (const c of columns) head.append(h('th', c[1] ? { class: 'num' } : null, c[0]));
    const body = h('tbody');
    for (const row of rows) {
      const tr = h('tr');
      row.forEach(function (cell, i) { tr.append(h('td', columns[i][1] ? { class: 'num' } : null, cell)); });
      body.append(tr);
    }
    if (rows.length === 0) body.append(h('tr', null, h('td', { class: 'empty', colspan: columns.length }, empty || 'Nothing yet.')));
    return h('div', { class: 'panel' }, h('table', null, h('thead', null, head), body));
  }

  function notice(text, isError, id) {
    const props = { class: isError ? 'notice error' : 'notice' };
    if (id) props.id = id;
    return h('p', props, text);
  }

  function describe(error) {
    if (error instanceof RpcError) return error.message + ' (code ' + error.code + ')';
    return 'cannot reach the node: ' + (error && error.message ? error.message : String(error));
  }

  // Replaces the view, unless the user has navigated away since `gen`.
  function show(gen, title) {
    if (gen !== generation) return false;
    document.title = title + ' · transfervm explorer';
    const parts = Array.prototype.slice.call(arguments, 2).filter(function (p) { return p !== null; });
    view.replaceChildren.apply(view, parts);
    return true;
  }

  // ---- views --------------------------------------------------------------------------------

  async function home(gen) {
    const info = await call('transfervm.info', {});
    const tip = info.lastAccepted.height;
    const calls = [];
    for (let height = tip; height >= 0 && calls.length < LATEST_BLOCKS; height--) {
      calls.push(['transfervm.getBlock', { height: height }]);
    }
    const answers = await batch(calls);
    const rows = [];
    for (const answer of answers) {
      if (!answer.result) continue;
      const b = answer.result;
      rows.push([heightLink(b.height), blockLink(b.id, true), when(b.timestamp), b.txCount]);
    }
    const card = function (label, value, cls, id) {
      const props = { class: 'card-value' + (cls ? ' ' + cls : '') };
      if (id) props.id = id;
      return h('div', { class: 'card' + (cls === 'wide' ? ' wide' : '') }, h('div', { class: 'card-label' }, label), h('div', props, value));
    };
    const last = info.lastAccepted.timestamp;
    show(gen, 'Latest blocks',
      h('h1', null, 'Latest blocks'),
      h('p', { class: 'sub' }, 'Live: refreshes every ' + REFRESH_MS / 1000 + ' seconds.'),
      h('div', { class: 'cards' },
        card('Height', amount(tip), '', 'home-height'),
        card('Last block', last > 0 ? age(last) : 'genesis'),
        card('Pending transfers', amount(info.mempoolSize)),
        card('Minimum fee', amount(info.minFee)),
        card('Supply', amount(info.supply), 'small'),
        card('Burned in fees', amount(info.burned), 'small'),
        card('Chain ID · network ' + info.networkId, info.chainId, 'wide')),
      h('h2', null, 'Latest blocks'),
      table([['Height', false], ['Block ID', false], ['Time (UTC)', false], ['Transfers', true]], rows));
    // Re-rendered on every tick, so new blocks appear and ages stay true.
    onTip = function () { home(gen).catch(function (e) { failed(gen, e); }); };
  }

  async function block(gen, arg) {
    let params;
    if (HEIGHT.test(arg)) params = { height: Number(arg) };
    else if (isId(arg)) params = { id: arg };
    else return notFound(gen, arg);
    const b = await call('transfervm.getBlock', params);
    const shown = b.txIds.slice(0, MAX_BLOCK_TXS_SHOWN);
    const answers = await batch(shown.map(function (id) { return ['transfervm.getTx', { txId: id }]; }));
    const rows = answers.map(function (answer, i) {
      if (!answer.result) return [txLink(shown[i]), '—', '—', '—', '—', badge('unknown')];
      const t = answer.result;
      return [txLink(t.txId), accountLink(t.tx.from), accountLink(t.tx.to), amount(t.tx.amount), amount(t.tx.fee), badge(t.status)];
    });
    const more = b.txIds.length > shown.length ? notice('Showing the first ' + shown.length + ' of ' + b.txIds.length + ' transfers.') : null;
    show(gen, 'Block ' + b.height,
      h('h1', null, 'Block ' + amount(b.height)),
      fields([
        ['Height', heightLink(b.height)],
        ['Block ID', h('span', { class: 'mono' }, b.id)],
        ['Parent', b.height > 0 ? blockLink(b.parentId, true) : h('span', { class: 'mono' }, b.parentId)],
        ['Time', b.timestamp === 0 ? 'genesis' : time(b.timestamp) + ' (' + age(b.timestamp) + ')'],
        ['Status', badge(b.status)],
        ['Transfers', amount(b.txCount)],
        ['State digest', h('span', { class: 'mono' }, b.stateDigest)],
      ], { Height: 'block-height' }),
      h('h2', null, 'Transfers'),
      more,
      table([['Transfer', false], ['From', false], ['To', false], ['Amount', true], ['Fee', true], ['Status', false]], rows, 'No transfers in this block.'));
  }

  async function tx(gen, arg) {
    if (!isId(arg)) return notFound(gen, arg);
    let t;
    try {
      t = await call('transfervm.getTx', { txId: arg });
    } catch (e) {
      if (!(e instanceof RpcError)) throw e;
      // Not stored as a transfer: the status book may still know it (dropped, unknown).
      const s = await call('transfervm.txStatus', { txId: arg });
      show(gen, 'Transfer',
        h('h1', null, 'Transfer'),
        fields([
          ['Transfer ID', h('span', { class: 'mono' }, arg)],
          ['Status', badge(s.status)],
          ['Reason', s.reason === undefined ? null : String(s.reason)],
        ].filter(function (r) { return r[1] !== null; }), { Status: 'tx-status' }));
      return;
    }
    const body = t.tx;
    const rows = [
      ['Transfer ID', h('span', { class: 'mono' }, t.txId)],
      ['Status', badge(t.status)],
    ];
    if (t.blockId !== undefined) rows.push(['Block', blockLink(t.blockId, true)]);
    if (t.height !== undefined) rows.push(['Height', heightLink(t.height)]);
    if (t.reason !== undefined) rows.push(['Reason', String(t.reason)]);
    rows.push(
      ['From', accountLink(body.from, true)],
      ['To', accountLink(body.to, true)],
      ['Amount', amount(body.amount)],
      ['Fee', amount(body.fee)],
      ['Nonce', String(body.nonce)],
      ['Expires', time(body.expiresAt * 1000)],
      ['Chain ID', h('span', { class: 'mono' }, body.chainId)],
      ['Network ID', String(body.networkId)],
      ['Signature', h('span', { class: 'mono' }, body.signature)]);
    show(gen, 'Transfer', h('h1', null, 'Transfer'), fields(rows, { Status: 'tx-status' }));
  }

  async function account(gen, arg) {
    if (!isAddress(arg)) return notFound(gen, arg);
    const a = await call('transfervm.account', { address: arg });
    const history = h('div');
    show(gen, 'Account',
      h('h1', null, 'Account'),
      fields([
        ['Address', h('span', { class: 'mono' }, a.address)],
        ['Balance', amount(a.balance)],
        ['Nonce', String(a.nonce)],
        ['Next nonce (with pending)', String(a.pendingNonce)],
      ], { Balance: 'account-balance' }),
      h('h2', null, 'History'),
      history);
    await historyPage(gen, arg, null, history);
  }

  // One page of `transfervm.accountTransfers`, appended under `into`; a node without the
  // method (or with its index off) gets one clear line instead.
  async function historyPage(gen, address, cursor, into) {
    const params = { address: address, limit: HISTORY_PAGE };
    if (cursor !== null) params.cursor = cursor;
    let page;
    try {
      page = await call('transfervm.accountTransfers', params);
    } catch (e) {
      if (gen !== generation) return;
      if (e instanceof RpcError && NO_HISTORY_CODES.indexOf(e.code) >= 0) {
        into.replaceChildren(notice('History not available on this node.', false, 'history-unavailable'));
      } else {
        into.append(notice('History: ' + describe(e), true));
      }
      return;
    }
    if (gen !== generation) return;
    const transfers = Array.isArray(page.transfers) ? page.transfers : [];
    const rows = transfers.map(function (t) {
      return [heightLink(t.height), time(t.timestamp), badge(t.direction), accountLink(t.counterparty), amount(t.amount), amount(t.fee), String(t.nonce), txLink(t.txId)];
    });
    into.append(table([['Height', false], ['Time', false], ['Direction', false], ['Counterparty', false], ['Amount', true], ['Fee', true], ['Nonce', true], ['Transfer', false]], rows, cursor === null ? 'No transfers yet.' : 'No older transfers.'));
    if (page.nextCursor !== null && page.nextCursor !== undefined) {
      const next = page.nextCursor;
      const button = h('button', { class: 'more' }, 'Older transfers');
      button.type = 'button';
      button.addEventListener('click', function () {
        button.remove();
        historyPage(gen, address, next, into).catch(function (e) { into.append(notice(describe(e), true)); });
      });
      into.append(button);
    }
  }

  // Resolves any block ID, transfer ID, height or address to its view.
  async function search(gen, text) {
    const q = text.trim();
    searchInput.value = q;
    const go = function (kind, target) { if (gen === generation) location.replace('#' + kind + '/' + target); };
    if (HEIGHT.test(q)) return go('block', q);
    if (isId(q)) {
      const found = await batch([['transfervm.getTx', { txId: q }], ['transfervm.getBlock', { id: q }]]);
      if (found[0].result) return go('tx', q);
      if (found[1].result) return go('block', q);
      if (isAddress(q)) return go('account', q);
      return show(gen, 'Not found', h('h1', null, 'Not found'),
        h('p', { class: 'notice', id: 'search-message' }, 'No block or transfer on this chain has the ID “', h('span', { class: 'mono' }, q), '”.'));
    }
    return notFound(gen, q);
  }

  function notFound(gen, text) {
    show(gen, 'Not found', h('h1', null, 'Not found'),
      h('p', { class: 'notice', id: 'search-message' },
        '“', h('span', { class: 'mono' }, text), '” is not a block ID, height, transfer ID or address.'));
  }

  function failed(gen, error) {
    show(gen, 'Error', h('h1', null, 'Something went wrong'), notice(describe(error), true, 'error-message'));
  }

  // ---- navigation and refresh ---------------------------------------------------------------

  function route() {
    const gen = ++generation;
    onTip = null;
    let fragment = location.hash.replace(/^#/, '');
    try { fragment = decodeURIComponent(fragment); } catch (e) { /* keep it as typed */ }
    const slash = fragment.indexOf('/');
    const kind = slash < 0 ? fragment : fragment.slice(0, slash);
    const arg = slash < 0 ? '' : fragment.slice(slash + 1);
    const views = { '': home, block: block, tx: tx, account: account, search: search };
    const render = Object.prototype.hasOwnProperty.call(views, kind) ? views[kind] : function (g) { return notFound(g, fragment); };
    Promise.resolve()
      .then(function () { return render(gen, arg); })
      .catch(function (e) { failed(gen, e); });
  }

  async function refreshTip() {
    try {
      const last = await call('transfervm.lastAccepted', {});
      tipHeight.textContent = amount(last.height);
      if (started && onTip) onTip();
      started = true;
    } catch (e) {
      tipHeight.textContent = 'offline';
    }
    setTimeout(refreshTip, REFRESH_MS);
  }

  searchForm.addEventListener('submit', function (event) {
    event.preventDefault();
    const q = searchInput.value.trim();
    if (q !== '') location.hash = '#search/' + encodeURIComponent(q);
  });
  window.addEventListener('hashchange', route);
  route();
  refreshTip();
})();
