package dev.sapienseg.storage;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.SampleImages;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** With sapiens.storage.webhook-secret set, POST /storage/notifications needs {@code Authorization: Bearer <secret>}. */
@QuarkusTest
@TestProfile(StorageWebhookSecretTest.Profile.class)
@WithTestResource(S3ProxyResource.class)
class StorageWebhookSecretTest {

    static final String SECRET = "s3cr3t-t0ken";

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("sapiens.storage.webhook-secret", SECRET);
        }
    }

    @BeforeEach
    void ready() {
        Readiness.awaitReady();
    }

    @Test
    void theWebhookNeedsTheSharedSecret() throws Exception {
        byte[] figure = java.nio.file.Files.readAllBytes(SampleImages.FIGURE_JPG);
        try (S3Client s3 = S3ProxyResource.client()) {
            s3.putObject(b -> b.bucket("photos").key("secret/one.jpg"), RequestBody.fromBytes(figure));
        }
        String body = StoredOutputs.minioNotification("photos", "secret/one.jpg");
        given().contentType("application/json").body(body).post("/storage/notifications")
                .then().statusCode(401).body("error", equalTo("unauthorized"));
        given().contentType("application/json").header("Authorization", "Bearer wrong").body(body)
                .post("/storage/notifications").then().statusCode(401).body("error", equalTo("unauthorized"));
        given().contentType("application/json").header("Authorization", "Bearer " + SECRET + "x").body(body)
                .post("/storage/notifications").then().statusCode(401);
        given().contentType("application/json").header("Authorization", SECRET).body(body)
                .post("/storage/notifications").then().statusCode(401);
        try (S3Client s3 = S3ProxyResource.client()) {
            org.junit.jupiter.api.Assertions.assertTrue(s3.listObjectsV2(b -> b.bucket("photos").prefix("sapiens-seg/")).contents()
                    .stream().noneMatch(o -> o.key().contains("secret/")), "nothing is processed without the secret");
        }
        given().contentType("application/json").header("Authorization", "Bearer " + SECRET).body(body)
                .post("/storage/notifications").then().statusCode(200)
                .body("results[0].source.key", equalTo("secret/one.jpg"));
    }
}
