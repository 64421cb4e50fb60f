// Draw the walkthrough's ```mermaid blocks (rendered as <pre class="mermaid">)
// with the vendored Mermaid, which loads nothing else: no CDN, no fonts.
/* global mermaid */
mermaid.initialize({
  startOnLoad: true,
  securityLevel: "strict",
  theme: "neutral",
  fontFamily: getComputedStyle(document.body).fontFamily,
});
