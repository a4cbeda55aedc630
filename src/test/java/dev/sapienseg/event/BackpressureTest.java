package dev.sapienseg.event;

import dev.sapienseg.fixtures.Profiles;
import dev.sapienseg.fixtures.CloudEvents;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.fixtures.Readiness;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;

/** Over HTTP: a full pod answers 429 and an expired deadline 503, both with Retry-After (Knative retries them). */
@QuarkusTest
@TestProfile(BackpressureTest.Profile.class)
@Tag("timing")
class BackpressureTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // One request at a time, in batches of 2 that wait an hour for company: the first request's deadline passes.
            return Profiles.heldBatches(1, "1500ms");
        }
    }

    private static Response post(byte[] picture) {
        return CloudEvents.image().contentType("image/jpeg")
                .body(picture).post("/");
    }

    @Test
    void fullPodAndExpiredDeadlineAreRetryable() throws Exception {
        Readiness.awaitReady();
        byte[] picture = java.nio.file.Files.readAllBytes(SampleImages.FIGURE_JPG);
        CompletableFuture<Response> first = CompletableFuture.supplyAsync(() -> post(picture));
        Thread.sleep(500); // the first request is admitted and waits in its batch
        post(picture).then().statusCode(429).header("Retry-After", "2")
                .header("ce-type", "sapiens.segment.failed").body("error", equalTo("overloaded"))
                .body("retryable", equalTo(true));
        first.get(30, TimeUnit.SECONDS).then().statusCode(503).header("Retry-After", "2")
                .body("error", equalTo("queue-timeout")).body("retryable", equalTo(true));
        given().get("/q/health/ready").then().statusCode(200);
    }
}
