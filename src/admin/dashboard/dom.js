// DOM and formatting helpers shared by every dashboard module: no state, no network.
// Data is never parsed as HTML: h() builds elements and sets text with textContent.

export const COLOURS = ['blue', 'green'];
export const PALETTE = {
  blue: { line: '#4c8dff', targets: ['#8fb6ff', '#2f64c8', '#b9d0ff', '#5a7fc0'] },
  green: { line: '#2ecc71', targets: ['#86e3ad', '#1e9653', '#b5f0cc', '#4aa873'] },
};

export const $ = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
};

/** Builds an element; children are nodes or strings (as text, never parsed as HTML). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

// ---------------------------------------------------------------- formatting

export const fmtPct = (x, digits = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(digits)}%`);
export const fmtWeight = (w) => (Number.isFinite(w) ? `${Number(w.toFixed(4))}%` : '—');
export const fmtMs = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(1)} ms`);
export const fmtRate = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
export const fmtTime = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? '') : d.toLocaleTimeString([], { hour12: false });
};
export const targetLabel = (url) => {
  try {
    return new URL(url).host;
  } catch {
    return String(url);
  }
};

// ---------------------------------------------------------------- banner & dialogs

export function showBanner(text, kind = 'error') {
  $('banner-text').textContent = text;
  $('banner').dataset.kind = kind;
  $('banner').hidden = false;
}
export function hideBanner() {
  $('banner').hidden = true;
}

/** A modal confirmation; resolves true only when the operator confirms. */
export function confirmAction(title, text, okLabel = 'Confirm', danger = false) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  const ok = $('confirm-ok');
  ok.textContent = okLabel;
  ok.className = `btn ${danger ? 'btn-danger' : 'btn-primary'}`;
  return new Promise((resolve) => {
    const form = $('confirm-form');
    const cancel = $('confirm-cancel');
    const done = (value) => {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      done(true);
    };
    const onCancel = (e) => {
      e.preventDefault();
      done(false);
    };
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    ok.focus();
  });
}
