package dev.sapienseg.event;

import dev.sapienseg.fixtures.CloudEvents;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.SampleImages;

/**
 * SIGTERM on the packaged application: readiness goes DOWN at once, the request in flight still gets its result, a new
 * request is refused with a retryable 503, and the process exits cleanly once the work is done.
 */
class GracefulShutdownIT {

    private static final int PORT = 18091;
    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + PORT + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private CompletableFuture<HttpResponse<String>> post(byte[] picture) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + PORT + "/"))
                .headers(CloudEvents.pairs(CloudEvents.IMAGE, "shutdown", "/tests")).header("Content-Type", "image/jpeg")
                .POST(HttpRequest.BodyPublishers.ofByteArray(picture)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void sigtermFinishesWorkInFlightAndRefusesNewWork() throws Exception {
        // Batches of 2 that wait 3 s for company: a lone request stays in flight for 3 s.
        ProcessBuilder command = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dquarkus.http.port=" + PORT, "-Dsapiens.batching.max-batch-size=2", "-Dsapiens.batching.max-delay=3s",
                "-jar", "target/quarkus-app/quarkus-run.jar").redirectErrorStream(true);
        command.environment().put("OPENBLAS_NUM_THREADS", "1");
        Process app = command.start();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Thread pump = new Thread(() -> {
            try {
                app.getInputStream().transferTo(log);
            } catch (java.io.IOException e) {
                // process ended
            }
        });
        pump.start();
        try {
            long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < until) {
                try {
                    if (get("/q/health/ready").statusCode() == 200) {
                        break;
                    }
                } catch (java.io.IOException e) {
                    // not listening yet
                }
                Thread.sleep(100);
            }
            byte[] picture = Files.readAllBytes(SampleImages.FIGURE_JPG);
            CompletableFuture<HttpResponse<String>> inFlight = post(picture);
            Thread.sleep(700);
            app.destroy(); // SIGTERM
            Thread.sleep(500);
            assertEquals(503, get("/q/health/ready").statusCode(), "readiness must be DOWN during shutdown");
            HttpResponse<String> refused = post(picture).get(10, TimeUnit.SECONDS);
            // Quarkus' own graceful-shutdown handler answers new requests 503 (Knative retries 5xx elsewhere).
            assertEquals(503, refused.statusCode(), refused.body());
            HttpResponse<String> finished = inFlight.get(30, TimeUnit.SECONDS);
            assertEquals(200, finished.statusCode(), finished.body());
            assertTrue(app.waitFor(60, TimeUnit.SECONDS), "the process must exit");
            pump.join(5000);
            assertTrue(!log.toString().contains(" ERROR "), log.toString());
        } finally {
            app.destroyForcibly();
        }
    }
}
