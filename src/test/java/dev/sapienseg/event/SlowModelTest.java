package dev.sapienseg.event;

import dev.sapienseg.fixtures.CloudEvents;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.fixtures.SlowModels;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;

/**
 * Over HTTP, a model slow on purpose (about 2 s per run) behind a queue timeout shorter than one run: readiness says
 * the limit cannot be met; the request being run is answered with its result, not "retry"; the one queued behind it
 * gets 503 with a Retry-After of about one run, as health reports it.
 */
@QuarkusTest
@TestProfile(SlowModelTest.Profile.class)
@Tag("timing")
class SlowModelTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Path dir = Files.createTempDirectory("slow-model");
                dir.toFile().deleteOnExit();
                Path model = SlowModels.write(dir, Duration.ofSeconds(2));
                return Map.of("sapiens.model.path", model.toString(),
                        "sapiens.limits.queue-timeout", "500ms",
                        "sapiens.execution.warm-up", "always", // the run time is known at readiness
                        "sapiens.limits.max-in-flight", "2");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private static Response post(byte[] picture) {
        return CloudEvents.image().contentType("image/jpeg")
                .body(picture).post("/");
    }

    @Test
    void theRunningRequestIsServedAndTheQueuedOneToldWhenToRetry() throws Exception {
        Readiness.awaitReady();
        JsonPath health = given().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'sapiens-model' }.data.'limits.warning'",
                        containsString("sapiens.limits.queue-timeout (0.5 s) is shorter than one model run"))
                .extract().jsonPath();
        String data = "checks.find { it.name == 'sapiens-model' }.data.";
        long run = health.getLong(data + "'run.median.ms'");
        assertTrue(run > 900, "one run takes " + run + " ms");
        assertEquals(500, health.getLong(data + "'queue-wait.ms'"));

        byte[] picture = Files.readAllBytes(SampleImages.FIGURE_JPG);
        CompletableFuture<Response> first = CompletableFuture.supplyAsync(() -> post(picture));
        Thread.sleep(300); // the first request's run has started
        Response queued = post(picture);
        queued.then().statusCode(503).body("error", equalTo("queue-timeout")).body("retryable", equalTo(true));
        int retryAfter = Integer.parseInt(queued.header("Retry-After"));
        assertTrue(retryAfter >= 1 && retryAfter >= (run - 1) / 1000 && retryAfter <= 30,
                "Retry-After " + retryAfter + " s for runs of about " + run + " ms");
        first.get(60, TimeUnit.SECONDS).then().statusCode(200).header("ce-type", "sapiens.segment.result");
    }
}
