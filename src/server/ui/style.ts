// The UI's one stylesheet, served as /assets/app.css: readable on a phone and a desktop, light
// and dark, no web fonts.
export const STYLESHEET = `
:root{--bg:#f7f7f8;--fg:#1d1d22;--muted:#6b6b76;--line:#dedee3;--card:#fff;--accent:#3a5bd9;
--ok:#1f7a3f;--ok-bg:#e3f4e8;--bad:#b3261e;--bad-bg:#fbe4e2;--warn:#8a5a00;--warn-bg:#fdf0d5;
--run:#1c5fb8;--run-bg:#e0ecfb;--wait:#5b5b66;--wait-bg:#ececf0;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#15161a;--fg:#e6e6ea;--muted:#9a9aa6;--line:#2e2f36;
--card:#1d1e23;--accent:#8ea5ff;--ok:#7fd49b;--ok-bg:#17311f;--bad:#ff9b92;--bad-bg:#3a1a18;
--warn:#f0c56a;--warn-bg:#33290f;--run:#8cb8f5;--run-bg:#182b45;--wait:#b0b0ba;--wait-bg:#26272d}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem 1rem;padding:.6rem 1rem;background:var(--card);border-bottom:1px solid var(--line);position:sticky;top:0;z-index:5}
header.top .brand{font-weight:700;color:var(--fg)}
header.top nav{display:flex;gap:.15rem;overflow-x:auto;flex:1;min-width:0}
header.top nav a{padding:.3rem .55rem;border-radius:6px;color:var(--muted);white-space:nowrap}
header.top nav a.active{background:var(--run-bg);color:var(--fg)}
form.logout{margin:0}
main{max-width:1200px;margin:0 auto;padding:1rem}
h1{font-size:1.45rem;margin:.4rem 0 .2rem}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
.subtitle,.muted{color:var(--muted)}.subtitle{margin-top:0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:.8rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.8rem 1rem}
.card h2,.card h3{margin-top:0}
.big{font-size:1.6rem;font-weight:650}
.table-wrap{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:10px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:.4rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted);white-space:nowrap;font-size:.85rem}
tr:last-child td{border-bottom:0}
td.num,th.num{text-align:right}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.8rem;font-weight:600}
.badge.ok{color:var(--ok);background:var(--ok-bg)}.badge.bad{color:var(--bad);background:var(--bad-bg)}
.badge.warn{color:var(--warn);background:var(--warn-bg)}.badge.run{color:var(--run);background:var(--run-bg)}
.badge.wait,.badge.muted{color:var(--wait);background:var(--wait-bg)}
.alert{border-radius:10px;padding:.6rem .9rem;margin:.6rem 0;border:1px solid var(--line)}
.alert.bad{background:var(--bad-bg);color:var(--bad)}.alert.ok{background:var(--ok-bg);color:var(--ok)}
.alert.warn{background:var(--warn-bg);color:var(--warn)}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}
form.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:.5rem 0}
label{display:flex;flex-direction:column;gap:.15rem;font-size:.85rem;color:var(--muted)}
input,select,textarea,button{font:inherit;color:inherit}
input,select,textarea{padding:.35rem .5rem;border:1px solid var(--line);border-radius:6px;background:var(--card);min-width:0}
button,.button{padding:.4rem .8rem;border:1px solid var(--accent);border-radius:6px;background:var(--accent);color:#fff;cursor:pointer;display:inline-block}
button.secondary,.button.secondary{background:transparent;color:var(--accent)}
button.danger{background:var(--bad);border-color:var(--bad)}
button.link{background:none;border:0;color:var(--accent);padding:0}
button:disabled{opacity:.5;cursor:default}
pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
pre.log{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.6rem;max-height:28rem;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere}
.empty{color:var(--muted);font-style:italic}
.pager{margin:.6rem 0}
.bar{height:.9rem;border-radius:3px;background:var(--run);min-width:2px}
.bar.ok{background:var(--ok)}.bar.bad{background:var(--bad)}.bar.warn{background:var(--warn)}.bar.muted{background:var(--wait)}
svg text{fill:currentColor}
.gantt{position:relative;height:.9rem;min-width:8rem;background:var(--wait-bg);border-radius:3px}
.gantt .bar{position:absolute;top:0;bottom:0;height:auto}
td.tree{white-space:nowrap}
.login{max-width:22rem;margin:4rem auto}
.htmx-request .spinner{display:inline}.spinner{display:none}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,420px),1fr));gap:.8rem}
figure.chart{margin:0;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.5rem .6rem}
figure.chart figcaption{font-weight:600;font-size:.9rem;overflow-wrap:anywhere}
figure.chart svg{width:100%;height:auto;display:block}
svg .grid-line{stroke:var(--line)}svg .axis{stroke:var(--muted)}
ul.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.2rem .9rem;margin:.3rem 0 0;padding:0;font-size:.85rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:-.1rem}
tr.differs>td,tr.differs>th{background:var(--warn-bg)}
th a{color:inherit}th a.sorted{color:var(--accent)}
td.select,th.select{width:1.6rem}
table.runs td{white-space:nowrap}table.compare th h3{margin:.3rem 0 0;font-size:.95rem;color:var(--fg)}
details>summary{cursor:pointer;color:var(--accent);margin:.4rem 0}
.columns-choice{display:flex;flex-wrap:wrap;gap:.1rem .9rem;max-height:16rem;overflow:auto}
.columns-choice label{flex-direction:row;align-items:center;gap:.3rem;color:var(--fg)}
@media (max-width:640px){main{padding:.6rem}th,td{padding:.35rem .4rem}h1{font-size:1.25rem}header.top nav{flex-wrap:wrap;flex-basis:100%}header.top nav a{padding:.25rem .45rem}}
`;
