package dev.sapienseg.storage;

import dev.sapienseg.fixtures.CloudEvents;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.Readiness;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** Storage that hangs: the request gives up within the socket timeout and retries, with a retryable 503. */
@QuarkusTest
@WithTestResource(BlackholeStorageResource.class)
@Tag("timing")
class SlowStorageTest {

    @Test
    void hangingStorageIsATransientFailure() {
        Readiness.awaitReady();
        long start = System.nanoTime();
        CloudEvents.binary("com.amazonaws.s3.ObjectCreated:Put", "slow", CloudEvents.SOURCE).contentType("application/json")
                .body(StorageTriggerTest.s3Notification("photos", "slow/one.jpg", "ObjectCreated:Put")).post("/")
                .then().statusCode(503).header("Retry-After", "2")
                .body("error", equalTo("storage-unavailable")).body("retryable", equalTo(true));
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(30).toNanos(), "must give up in bounded time");
        given().get("/q/health/ready").then().statusCode(200);
    }
}
