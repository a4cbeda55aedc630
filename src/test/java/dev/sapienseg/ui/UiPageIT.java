package dev.sapienseg.ui;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.PackagedApp;
import dev.sapienseg.fixtures.SampleImages;

/**
 * The page in a real browser: {@code src/test/browser/ui.test.mjs} drives Debian's Chromium with Playwright against
 * the packaged application (the checks are listed there: the legend is the reply's classes, the overlay is twice the
 * picture's width, hovering names the class the reply's RLE holds, the cutout download is an RGBA PNG, a text file
 * shows the server's message, no CSP violation, no sideways scrolling on a phone). Needs Node.js, the npm package of
 * {@code src/test/browser} ({@code npm ci}) and {@code /usr/bin/chromium}, which scripts/test installs; a screenshot
 * is left in {@code target/ui/page.png}.
 */
class UiPageIT {

    private static final int PORT = 18096;

    @Test
    void thePageShowsTheSegmentationInABrowser() throws Exception {
        try (PackagedApp app = PackagedApp.start(PORT)) {
            app.awaitReady(Duration.ofSeconds(90));
            Path out = Path.of("target/ui").toAbsolutePath();
            Path log = Files.createTempFile("ui-test-", ".log");
            Process node = new ProcessBuilder("node", "ui.test.mjs", "http://127.0.0.1:" + PORT,
                    SampleImages.FIGURE_JPG.toAbsolutePath().toString(), out.toString())
                    .directory(Path.of("src/test/browser").toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            boolean done = node.waitFor(180, TimeUnit.SECONDS);
            if (!done) {
                node.destroyForcibly();
            }
            String output = Files.readString(log, StandardCharsets.UTF_8);
            assertTrue(done, "the browser test did not finish in 3 minutes:\n" + output);
            assertEquals(0, node.exitValue(), output);
            assertTrue(output.contains("ok: the cutout download is an RGBA PNG"), output);
            assertTrue(Files.size(out.resolve("page.png")) > 10_000, "a screenshot of the page");
        }
    }
}
