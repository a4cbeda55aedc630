package dev.sapienseg.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

import dev.sapienseg.fixtures.HttpClients;
import dev.sapienseg.fixtures.HttpClients.Answer;
import dev.sapienseg.fixtures.PackagedApp;
import dev.sapienseg.fixtures.SampleImages;

/**
 * SIGTERM on the packaged application, on every protocol a caller may use: readiness goes DOWN at once, the request
 * in flight still gets its result, requests sent meanwhile on the same connection (multiplexed on HTTP/2) are refused
 * with a retryable 503, and the process exits cleanly once the work is done.
 *
 * <p>Each case runs once in the suite; {@code -Dshutdown.repeats=N} runs each N times (the stress run, see
 * docs/development.md).
 */
@Tag("timing")
class GracefulShutdownIT {

    private static final int PORT = 18091;

    @TestFactory
    Stream<DynamicTest> sigtermAnswersWorkInFlightAndRefusesNewWork() {
        int repeats = Integer.getInteger("shutdown.repeats", 1);
        return Stream.of(HttpClients.Kind.values()).flatMap(kind -> IntStream.rangeClosed(1, repeats)
                .mapToObj(run -> DynamicTest.dynamicTest(kind + (repeats > 1 ? " #" + run : ""), () -> sigterm(kind))));
    }

    private static void sigterm(HttpClients.Kind kind) throws Exception {
        byte[] picture = Files.readAllBytes(SampleImages.FIGURE_JPG);
        // Batches of 2 that wait 3 s for company: a lone request stays in flight for 3 s, past the 2 s delay.
        try (PackagedApp app = PackagedApp.start(PORT, Stream.concat(Stream.of("sapiens.batching.max-batch-size=2",
                "sapiens.batching.max-delay=3s"), Stream.of(System.getProperty("shutdown.app-properties", "").split(" "))
                .filter(p -> !p.isBlank())).toArray(String[]::new));
                HttpClients client = HttpClients.open(kind, app.uri("/"))) {
            app.awaitReady(Duration.ofSeconds(60));
            assertEquals(200, client.get("/q/health/ready").get(10, TimeUnit.SECONDS).status(),
                    "the client's connection is open before the request in flight");
            CompletableFuture<Answer> inFlight = client.postImage(picture);
            Thread.sleep(700);
            app.terminate();
            Thread.sleep(300);
            // On the same connection during the delay: each answer followed at once by a new request (what crossed
            // Quarkus' early HTTP/2 GOAWAY and lost the answer in flight), and a few sent together.
            Answer readiness = client.get("/q/health/ready").get(10, TimeUnit.SECONDS);
            Answer refused = client.postImage(picture).get(10, TimeUnit.SECONDS);
            List<CompletableFuture<Answer>> together = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                together.add(client.get("/q/health/ready"));
                together.add(client.postImage(picture));
            }
            assertEquals(503, readiness.status(), "readiness must be DOWN during shutdown");
            assertEquals(503, refused.status(), refused.body());
            for (CompletableFuture<Answer> answer : together) {
                assertEquals(503, answer.get(10, TimeUnit.SECONDS).status());
            }
            Answer finished = inFlight.get(30, TimeUnit.SECONDS);
            assertEquals(200, finished.status(), finished.body());
            assertTrue(finished.body().contains("\"classes\""), finished.body());
            int exit = app.awaitExit(Duration.ofSeconds(60));
            // 143 = 128 + SIGTERM: the JVM's status after a signal-initiated shutdown whose hooks all ran.
            assertTrue(exit == 143 || exit == 0, "the process must exit cleanly, not " + exit + "\n" + app.log());
            assertFalse(app.log().contains(" ERROR "), app.log());
            assertTrue(app.log().contains("every request in flight answered"), app.log());
        }
    }
}
