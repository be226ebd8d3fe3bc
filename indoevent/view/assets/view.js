// The view's only script: it draws what indoevent/view/data.py prepared (no network, no library).
// Text shown comes in two ways only: textContent (never parsed as HTML), or the HTML that the one
// Python renderer (indoevent/view/spans.py) escaped. State lives in the URL fragment
// (#type=CONSULT&actor=IDN...), so a filtered table is a link; tables and articles are paged, and
// an article's text is inserted only when it is opened.
(function () {
  'use strict';
  const PAGE = 100, ARTICLE_PAGE = 50, TOP_ACTORS = 30;
  const SYMMETRIC = new Set(['CONSULT', 'COOPERATE', 'AGREE']);
  const KEYS = ['type', 'actor', 'country', 'from', 'to', 'sort', 'desc', 'page', 'q', 'apage', 'article', 'span'];
  let D = null, S = {}, shown = [], scrolledTo = '';
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
  function swatch(type) {
    const s = el('span', {class: 'type', title: type});
    s.style.background = D.colors[type] || '#ccc';
    return s;
  }
  const actorText = (list) => list.map((a) => (a[0] ? a[0] + ' ' : '') + a[1]).join('; ');

  // --- state <-> fragment ------------------------------------------------------------------
  function parseHash() {
    const out = {};
    const params = new URLSearchParams(location.hash.replace(/^#/, ''));
    for (const k of KEYS) if (params.get(k)) out[k] = params.get(k);
    return out;
  }
  function setState(changes) {
    const next = Object.assign({}, S, changes);
    const params = new URLSearchParams();
    for (const k of KEYS) if (next[k] !== undefined && next[k] !== null && next[k] !== '') params.set(k, next[k]);
    const hash = '#' + params.toString();
    if (hash === location.hash || (hash === '#' && !location.hash)) { S = next; render(); } else { location.hash = hash; }
  }

  // --- events -------------------------------------------------------------------------------
  function matches(e) {
    const people = e.actors.concat(e.recipients);
    if (S.type && e.type !== S.type) return false;
    if (S.actor) {
      const q = S.actor.toLowerCase();
      if (!people.some((a) => (a[0] + ' ' + a[1]).toLowerCase().includes(q))) return false;
    }
    if (S.country) {
      const c = S.country.toUpperCase();
      if (e.country !== c && !people.some((a) => a[2] === c)) return false;
    }
    if (S.from && (e.end || e.start) < S.from) return false;
    if (S.to && e.start > S.to) return false;
    return true;
  }
  const SORTS = {
    type: (e) => e.type, date: (e) => e.start, actors: (e) => actorText(e.actors),
    recipients: (e) => actorText(e.recipients), place: (e) => e.place, mentions: (e) => e.mentions,
    sources: (e) => e.sources, id: (e) => e.id,
  };
  function sorted(list) {
    const key = SORTS[S.sort] || SORTS.date, sign = S.desc ? -1 : 1;
    return list.slice().sort((a, b) => {
      const x = key(a), y = key(b);
      return (x < y ? -1 : x > y ? 1 : (a.id < b.id ? -1 : 1)) * sign;
    });
  }
  function renderFilters() {
    for (const k of ['type', 'actor', 'country', 'from', 'to']) if ($('f-' + k)) $('f-' + k).value = S[k] || '';
  }
  function pager(box, page, pages, key) {
    clear(box);
    if (pages <= 1) return;
    const go = (p) => () => setState({[key]: p > 1 ? String(p) : ''});
    const prev = el('button', {type: 'button'}, '\u2190'), next = el('button', {type: 'button'}, '\u2192');
    prev.disabled = page <= 1; next.disabled = page >= pages;
    prev.onclick = go(page - 1); next.onclick = go(page + 1);
    box.append(prev, next, el('span', {}, 'page ' + page + ' of ' + pages));
  }
  function renderEvents() {
    shown = sorted(D.events.filter(matches));
    $('n-shown').textContent = shown.length;
    const pages = Math.max(1, Math.ceil(shown.length / PAGE));
    const page = Math.min(Math.max(1, +S.page || 1), pages);
    const body = clear($('events-body'));
    for (const e of shown.slice((page - 1) * PAGE, page * PAGE)) body.append(eventRow(e));
    if (!shown.length) body.append(emptyRow(8, D.events.length ? 'no event matches the filter' : 'no merged events (give --merged DIR)'));
    pager($('events-pager'), page, pages, 'page');
    for (const th of document.querySelectorAll('#events th.sort')) {
      th.classList.toggle('on', th.dataset.key === (S.sort || 'date'));
      th.classList.toggle('desc', !!S.desc);
    }
  }
  function eventRow(e) {
    const tr = el('tr', {class: 'ev', 'data-event': e.id});
    const type = el('td'); type.append(swatch(e.type), document.createTextNode(e.type));
    tr.append(el('td', {}, e.id), type, el('td', {}, e.date), el('td', {}, actorText(e.actors)),
              el('td', {}, actorText(e.recipients)), el('td', {}, e.place + (e.country ? ' (' + e.country + ')' : '')),
              el('td', {class: 'n'}, e.mentions), el('td', {class: 'n'}, e.sources));
    tr.onclick = () => toggleEvent(tr, e);
    return tr;
  }
  function toggleEvent(tr, e) {
    if (tr.classList.contains('open')) { tr.classList.remove('open'); tr.nextSibling.remove(); return; }
    tr.classList.add('open');
    const td = el('td', {colspan: 8});
    const table = el('table', {class: 'mentions'});
    table.append(headRow(['article', 'trigger', 'date', 'why merged', 'sentence']));
    for (const i of e.m) {
      const m = D.mentions[i], row = el('tr');
      const art = el('td');
      if (m.a >= 0) {
        const a = el('a', {href: '#'}, D.articles[m.a].id);
        a.onclick = (ev) => { ev.preventDefault(); ev.stopPropagation(); openArticle(m.a, m.s); };
        art.append(a);
      } else art.textContent = m.article + ' (not in this view)';
      const sentence = el('td', {class: 'sentence'});
      sentence.innerHTML = m.sentence;  // escaped by the Python renderer
      row.append(art, el('td', {}, m.trigger), el('td', {}, m.date), el('td', {}, m.reason), sentence);
      table.append(row);
    }
    td.append(table);
    const detail = el('tr', {class: 'detail'});
    detail.append(td);
    tr.after(detail);
  }
  function emptyRow(columns, message) {
    const tr = el('tr');
    tr.append(el('td', {colspan: columns, class: 'empty'}, message));
    return tr;
  }
  function headRow(names) {
    const tr = el('tr');
    for (const n of names) tr.append(el('th', {}, n));
    return tr;
  }

  // --- timeline: events per day, stacked by type -----------------------------------------------
  const NS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  const dayNumber = (iso) => Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 864e5;
  const isoDay = (n) => new Date(n * 864e5).toISOString().slice(0, 10);
  function renderTimeline() {
    const box = clear($('timeline'));
    const days = new Map(), types = new Set();
    let ranged = 0;
    for (const e of shown) {
      if (!/^\d{4}-\d{2}-\d{2}/.test(e.start)) continue;
      if (e.end && e.end !== e.start) { ranged += 1; continue; }  // a month or a year is no day to draw
      const d = dayNumber(e.start), row = days.get(d) || {};
      row[e.type] = (row[e.type] || 0) + 1; days.set(d, row); types.add(e.type);
    }
    const note = el('p', {class: 'muted'}, ranged ? ranged + ' event(s) dated only by a range (a month, a year) are left out' : '');
    if (!days.size) { box.append(el('p', {class: 'empty'}, 'no event dated to the day'), note); return; }
    const first = Math.min(...days.keys()), last = Math.max(...days.keys()), n = last - first + 1;
    const bar = Math.max(3, Math.min(24, Math.floor(1100 / n))), h = 180, left = 34, width = left + n * bar + 10;
    const top = Math.max(...Array.from(days.values(), (r) => Object.values(r).reduce((a, b) => a + b, 0)));
    const chart = svg('svg', {width: width, height: h + 40, id: 'timeline-svg'});
    chart.append(svg('text', {x: 2, y: 12}, top), svg('text', {x: 2, y: h}, 0));
    const order = D.types.filter((t) => types.has(t));
    for (const [d, row] of days) {
      let y = h;
      for (const t of order) {
        if (!row[t]) continue;
        const hh = row[t] / top * (h - 10);
        y -= hh;
        const r = svg('rect', {x: left + (d - first) * bar, y: y, width: bar - 1, height: hh, fill: D.colors[t] || '#888', class: 'day'});
        r.append(svg('title', {}, isoDay(d) + ' ' + t + ': ' + row[t]));
        chart.append(r);
      }
    }
    const ticks = Math.max(1, Math.min(n, 8, Math.floor(n * bar / 80)));  // a label every 80 px at most
    for (let k = 0; k < ticks; k++) {
      const d = first + Math.round(k * (n - 1) / Math.max(1, ticks - 1));
      chart.append(svg('text', {x: left + (d - first) * bar, y: h + 14}, isoDay(d)));
    }
    const wrap = el('div', {class: 'chart'}); wrap.append(chart);
    box.append(wrap, typeLegend(order), note);
  }
  function typeLegend(types) {
    const p = el('p', {class: 'legend'});
    for (const t of types) { const s = el('span', {class: 'swatch'}); s.append(swatch(t), document.createTextNode(t)); p.append(s); }
    return p;
  }

  // --- actor network: who acts on whom, edge width by events, colour by the dominant type ------
  function edgesOf(events) {
    const edges = new Map(), weight = new Map();
    const key = (a) => a[0] || a[1];
    const add = (a, b, type) => {
      if (a === b) return;
      const k = a < b ? a + '\u0000' + b : b + '\u0000' + a;
      const e = edges.get(k) || {a: a < b ? a : b, b: a < b ? b : a, n: 0, types: {}};
      e.n += 1; e.types[type] = (e.types[type] || 0) + 1; edges.set(k, e);
      weight.set(a, (weight.get(a) || 0) + 1); weight.set(b, (weight.get(b) || 0) + 1);
    };
    for (const e of events) {
      const actors = [...new Set(e.actors.map(key))], recipients = [...new Set(e.recipients.map(key))];
      if (SYMMETRIC.has(e.type) || !recipients.length) {
        for (let i = 0; i < actors.length; i++) for (let j = i + 1; j < actors.length; j++) add(actors[i], actors[j], e.type);
      }
      for (const a of actors) for (const r of recipients) add(a, r, e.type);
    }
    return {edges: [...edges.values()], weight: weight};
  }
  function renderNetwork() {
    const box = clear($('network'));
    const {edges, weight} = edgesOf(shown);
    const nodes = [...weight.keys()].sort((a, b) => weight.get(b) - weight.get(a) || (a < b ? -1 : 1)).slice(0, TOP_ACTORS);
    if (!edges.length) { box.append(el('p', {class: 'empty'}, 'no event with two participants')); return; }
    const size = 620, c = size / 2, r = size / 2 - 110, pos = new Map();
    nodes.forEach((n, i) => pos.set(n, [c + r * Math.cos(2 * Math.PI * i / nodes.length), c + r * Math.sin(2 * Math.PI * i / nodes.length)]));
    const kept = edges.filter((e) => pos.has(e.a) && pos.has(e.b));
    const most = Math.max(1, ...kept.map((e) => e.n));
    const chart = svg('svg', {width: size, height: size, id: 'network-svg'});
    const types = new Set();
    for (const e of kept.sort((x, y) => x.n - y.n)) {
      const type = Object.keys(e.types).sort((x, y) => e.types[y] - e.types[x] || (x < y ? -1 : 1))[0];
      types.add(type);
      const [x1, y1] = pos.get(e.a), [x2, y2] = pos.get(e.b);
      const line = svg('line', {x1: x1, y1: y1, x2: x2, y2: y2, stroke: D.colors[type] || '#888', 'stroke-width': 1 + 7 * e.n / most, 'stroke-opacity': 0.75, class: 'edge'});
      line.append(svg('title', {}, e.a + ' \u2013 ' + e.b + ': ' + e.n + ' event(s), mostly ' + type));
      chart.append(line);
    }
    for (const n of nodes) {
      const [x, y] = pos.get(n), right = x >= c;
      chart.append(svg('circle', {cx: x, cy: y, r: 3 + Math.sqrt(weight.get(n)), fill: '#444'}));
      chart.append(svg('text', {x: x + (right ? 8 : -8), y: y + 3, 'text-anchor': right ? 'start' : 'end'}, n));
    }
    const wrap = el('div', {class: 'chart'}); wrap.append(chart);
    box.append(wrap, typeLegend(D.types.filter((t) => types.has(t))),
               el('p', {class: 'muted'}, nodes.length + ' most active of ' + weight.size + ' participant(s); ' + kept.length + ' of ' + edges.length + ' pair(s) drawn'));
  }

  // --- articles, rendered when opened ---------------------------------------------------------
  function renderArticles() {
    const q = (S.q || '').toLowerCase();
    const list = [];
    D.articles.forEach((a, i) => { if (!q || a.id.toLowerCase().includes(q)) list.push(i); });
    const pages = Math.max(1, Math.ceil(list.length / ARTICLE_PAGE));
    let page = Math.min(Math.max(1, +S.apage || 1), pages);
    const want = S.article !== undefined ? D.articles.findIndex((a) => a.id === S.article) : -1;
    if (want >= 0 && list.includes(want)) page = Math.floor(list.indexOf(want) / ARTICLE_PAGE) + 1;
    const box = clear($('articles-list'));
    for (const i of list.slice((page - 1) * ARTICLE_PAGE, page * ARTICLE_PAGE)) box.append(articleBox(i));
    pager($('articles-pager'), page, pages, 'apage');
    if ($('f-q')) $('f-q').value = S.q || '';
    if (want >= 0) {
      const d = box.querySelector('details[data-i="' + want + '"]');
      if (d) {
        d.open = true;
        fillArticle(d);
        // Scroll only when the article asked for changed, not when a filter elsewhere did.
        const asked = S.article + '|' + (S.span || '');
        flash(d, S.span, asked !== scrolledTo);
        if (asked !== scrolledTo && (S.span === undefined || S.span === '-1')) d.scrollIntoView({block: 'start'});
        scrolledTo = asked;
      }
    }
  }
  function articleBox(i) {
    const a = D.articles[i], d = el('details', {class: 'article', 'data-i': i, id: 'article-' + i});
    d.append(el('summary', {}, a.id + (a.date ? ' \u00b7 ' + a.date : '') + ' \u00b7 ' + a.frames.length + ' frame(s), ' + a.n_entities + ' entities, ' + a.n_triggers + ' triggers'));
    d.addEventListener('toggle', () => { if (d.open) fillArticle(d); });
    return d;
  }
  function fillArticle(d) {
    if (d.dataset.filled) return;
    d.dataset.filled = '1';
    const a = D.articles[+d.dataset.i];
    d.append(el('div', {class: 'muted'}, a.source));
    const text = el('div', {class: 'text'});
    text.innerHTML = a.html;  // escaped by the Python renderer
    d.append(text, framesTable(a, text));
  }
  function framesTable(a, text) {
    const t = el('table', {class: 'frames'});
    t.append(headRow(['type', 'trigger'].concat(D.roles)));
    const mark = (ids, on, cls) => {
      for (const m of text.querySelectorAll('mark')) if (ids.has(+m.dataset.s)) m.classList.toggle(cls, on);
    };
    for (const [type, trig, args] of a.frames) {
      const ids = new Set([trig]), tr = el('tr');
      const cell = el('td'); cell.append(swatch(type), document.createTextNode(type));
      tr.append(cell, el('td', {}, words(text, trig)));
      for (const role of D.roles) {
        (args[role] || []).forEach((s) => ids.add(s));
        tr.append(el('td', {}, (args[role] || []).map((s) => words(text, s)).join('; ')));
      }
      tr.onmouseenter = () => mark(ids, true, 'hl');
      tr.onmouseleave = () => { if (!tr.classList.contains('pin')) mark(ids, false, 'hl'); };
      tr.onclick = () => { const on = tr.classList.toggle('pin'); mark(ids, on, 'hl'); };
      t.append(tr);
    }
    if (!a.frames.length) t.append(emptyRow(2 + D.roles.length, 'no event frame'));
    return t;
  }
  // A span's words, read from its marks (all its pieces; labels are CSS, not text).
  function words(text, i) {
    return Array.from(text.querySelectorAll('mark[data-s="' + i + '"]'), (m) => m.textContent).join('');
  }
  function flash(d, span, scroll) {
    if (span === undefined || span === '-1') return;
    for (const m of d.querySelectorAll('mark[data-s="' + span + '"]')) {
      m.classList.add('flash');
      if (scroll) m.scrollIntoView({block: 'center'});
    }
  }
  function openArticle(i, span) {
    setState({article: D.articles[i].id, span: span >= 0 ? String(span) : '', q: '', apage: ''});
  }

  // --- the whole page -------------------------------------------------------------------------
  function render() {
    if (!D) return;
    renderFilters();
    renderEvents();
    renderTimeline();
    renderNetwork();
    renderArticles();
  }
  function counts() {
    for (const k in D.counts) if ($('n-' + k)) $('n-' + k).textContent = D.counts[k];
    const types = $('f-type');
    clear(types).append(el('option', {value: ''}, 'any type'));
    for (const t of D.types) if (D.events.some((e) => e.type === t)) types.append(el('option', {value: t}, t));
  }
  function wire() {
    for (const k of ['type', 'actor', 'country', 'from', 'to']) {
      $('f-' + k).addEventListener('change', () => setState({[k]: $('f-' + k).value.trim(), page: ''}));
    }
    $('f-q').addEventListener('change', () => setState({q: $('f-q').value.trim(), apage: '', article: '', span: ''}));
    $('f-clear').onclick = () => setState({type: '', actor: '', country: '', from: '', to: '', page: ''});
    for (const th of document.querySelectorAll('#events th.sort')) {
      th.onclick = () => setState({sort: th.dataset.key, desc: S.sort === th.dataset.key && !S.desc ? '1' : '', page: ''});
    }
    window.addEventListener('hashchange', () => { S = parseHash(); render(); });
  }
  function load(data) {
    D = data;
    S = parseHash();
    counts();
    render();
    // Milliseconds from the start of navigation to the first full render (benchmarks/view_scale.py reads it).
    if (!document.documentElement.dataset.firstRenderMs) document.documentElement.dataset.firstRenderMs = Math.round(performance.now());
  }
  function ui() {
    const form = $('ui-form');
    if (!form) return;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      $('ui-status').textContent = 'extracting\u2026';
      try {
        const answer = await fetch(form.getAttribute('action'), {
          method: 'POST', headers: {'content-type': 'application/json'},
          body: JSON.stringify({text: $('ui-text').value, date: $('ui-date').value, id: $('ui-id').value})});
        const data = await answer.json();
        if (!answer.ok) throw new Error(data.error || answer.statusText);
        $('ui-status').textContent = data.model_version ? 'model ' + data.model_version : '';
        load(data);
        setState({article: data.articles[0].id, span: ''});
      } catch (e) {
        $('ui-status').textContent = 'error: ' + e.message;
      }
    });
  }
  window.IndoView = {load: load};
  wire();
  ui();
  const embedded = $('view-data');
  if (embedded) load(JSON.parse(embedded.textContent));
})();
