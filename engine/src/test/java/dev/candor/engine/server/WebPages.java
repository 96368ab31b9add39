package dev.candor.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/** What the browser tests share: a Chromium (or a clear skip), the repository's paths, page-side checks. */
final class WebPages {
  private WebPages() {}

  /**
   * A fresh headless Chromium. Without one the browser tests are skipped with a message, unless
   * CANDOR_REQUIRE_BROWSER=1 (set by .ci/run, which installs Chromium), where a missing browser fails them.
   */
  static Chromium browser() throws IOException, InterruptedException {
    Optional<Path> executable = Chromium.find();
    if (executable.isEmpty()) {
      if ("1".equals(System.getenv("CANDOR_REQUIRE_BROWSER"))) {
        fail("CANDOR_REQUIRE_BROWSER=1 but there is no Chromium: apt-get install chromium (or set CANDOR_CHROMIUM)");
      }
      Assumptions.abort("no Chromium on the PATH (apt-get install chromium, or set CANDOR_CHROMIUM): skipped");
    }
    Chromium chromium = Chromium.launch(executable.get());
    // The page's CSP reports each violation as an event; the protocol's script sees them, the page's own cannot.
    chromium.beforeEachPage("window.__csp = []; document.addEventListener('securitypolicyviolation',"
        + " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));");
    return chromium;
  }

  static Path repositoryRoot() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("models/default/target"))) {
        return p;
      }
    }
    throw new IllegalStateException("models/default not found above " + Path.of("").toAbsolutePath());
  }

  /** Saves a screenshot as build/web/NAME.png at the repository's root. */
  static Path save(Chromium browser, String name, boolean fullPage) {
    Path file = repositoryRoot().resolve("build/web/" + name + ".png");
    try {
      Files.createDirectories(file.getParent());
      Files.write(file, browser.screenshot(fullPage));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  /** No console error, uncaught exception, failed load or Content-Security-Policy violation so far. */
  static void assertClean(Chromium browser) {
    assertEquals(List.of(), browser.errors(), "the page reported errors");
    JsonNode csp = browser.eval("window.__csp");
    assertEquals(0, csp.size(), "CSP violations: " + csp);
  }

  /**
   * Every visible text's contrast against the background it is drawn on (backgrounds composed up the tree), by WCAG
   * 2's relative luminance; returns those under 4.5:1 (AA for normal text), as "ratio text" strings.
   */
  static final String CONTRAST = """
      (() => {
        const parse = (c) => {
          const m = c.match(/rgba?\\(([^)]+)\\)/);
          if (!m) return null;
          const v = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
          return {r: v[0], g: v[1], b: v[2], a: v.length > 3 ? v[3] : 1};
        };
        const over = (top, bottom) => ({r: top.r * top.a + bottom.r * (1 - top.a),
          g: top.g * top.a + bottom.g * (1 - top.a), b: top.b * top.a + bottom.b * (1 - top.a), a: 1});
        const lum = (c) => {
          const f = (x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
          return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
        };
        const background = (node) => {
          const layers = [];
          for (let n = node; n; n = n.parentElement) {
            const c = parse(getComputedStyle(n).backgroundColor);
            if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
          }
          let bg = {r: 255, g: 255, b: 255, a: 1};
          for (const layer of layers.reverse()) bg = over(layer, bg);
          return bg;
        };
        const failures = [];
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
          const text = walker.currentNode;
          const e = text.parentElement;
          if (!text.textContent.trim() || !e.checkVisibility({opacityProperty: true, visibilityProperty: true})) {
            continue;
          }
          const box = e.getBoundingClientRect();
          if (box.width === 0 || box.height === 0) continue;
          const bg = background(e);
          const fg = over(parse(getComputedStyle(e).color), bg);
          const l1 = lum(fg), l2 = lum(bg);
          const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
          if (ratio < 4.5) failures.push(ratio.toFixed(2) + ' ' + e.tagName + '.' + e.className + ' '
            + JSON.stringify(text.textContent.slice(0, 30)));
        }
        return failures;
      })()""";
}
