package dev.sapienseg.storage;

import dev.sapienseg.fixtures.CloudEvents;
import dev.sapienseg.fixtures.Pipelines;
import java.util.EnumSet;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.Npy;
import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageLimits;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.model.Normalization;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.pipeline.SegmentationPipeline;
import dev.sapienseg.fixtures.Readiness;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Storage-upload triggers end to end against a real S3-compatible server with the real AWS SDK: every notification
 * shape, output content, redelivery, loop prevention, the allow-list, missing and non-image objects, storage down.
 */
@QuarkusTest
@WithTestResource(S3ProxyResource.class)
class StorageTriggerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static byte[] figure;

    @BeforeEach
    void readyAndUploaded() throws Exception {
        Readiness.awaitReady();
        if (figure == null) {
            figure = java.nio.file.Files.readAllBytes(SampleImages.FIGURE_JPG);
        }
    }

    private static String upload(String key, byte[] data) {
        try (S3Client s3 = S3ProxyResource.client()) {
            return s3.putObject(b -> b.bucket("photos").key(key).contentType("image/jpeg"), RequestBody.fromBytes(data)).eTag();
        }
    }

    /** An AWS S3 event notification for one object (keys URL-encoded, as S3 sends them). */
    static String s3Notification(String bucket, String key, String eventName) {
        return """
                {"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventName":"%s",
                 "s3":{"s3SchemaVersion":"1.0","bucket":{"name":"%s","arn":"arn:aws:s3:::%s"},
                       "object":{"key":"%s","size":1234,"eTag":"0123456789abcdef"}}}]}"""
                .formatted(eventName, bucket, bucket, URLEncoder.encode(key, StandardCharsets.UTF_8));
    }

    private static Response event(String type, String json) {
        return CloudEvents.binary(type, UUID.randomUUID().toString(), "/tests/storage")
                .contentType("application/json").body(json).post("/");
    }

    private static List<JsonNode> objects(Response response) throws Exception {
        JsonNode reply = JSON.readTree(response.asByteArray());
        List<JsonNode> objects = new ArrayList<>();
        reply.get("results").get(0).get("objects").forEach(objects::add);
        return objects;
    }

    @Test
    void awsNotificationWritesEveryOutputWithMetadata() throws Exception {
        String key = "albums/summer 2024/my+cat.jpg";
        String eTag = upload(key, figure);
        Response response = event("com.amazon.sqs.message", s3Notification("photos", key, "ObjectCreated:Put"));
        response.then().statusCode(200)
                .header("ce-type", "sapiens.segment.stored")
                .header("ce-subject", key)
                .body("results[0].source.bucket", equalTo("photos"))
                .body("results[0].source.key", equalTo(key))
                .body("results[0].reused", equalTo(false))
                .body("results[0].segmentation.width", equalTo(480))
                .body("results[0].segmentation.model.name", equalTo("sapiens-palette-demo"));

        Map<String, String> expected = Map.of(
                "sapiens-seg/albums/summer 2024/my+cat.jpg.npy", "application/octet-stream",
                "sapiens-seg/albums/summer 2024/my+cat.jpg_seg.npy", "application/octet-stream",
                "sapiens-seg/albums/summer 2024/my+cat.jpg_seg.png", "image/png",
                "sapiens-seg/albums/summer 2024/my+cat.jpg_overlay.jpg", "image/jpeg",
                "sapiens-seg/albums/summer 2024/my+cat.jpg.json", "application/json");
        List<JsonNode> objects = objects(response);
        assertEquals(expected.size(), objects.size());
        try (S3Client s3 = S3ProxyResource.client()) {
            for (JsonNode o : objects) {
                String outKey = o.get("key").asText();
                assertEquals(expected.get(outKey), o.get("contentType").asText(), outKey);
                HeadObjectResponse head = s3.headObject(b -> b.bucket("photos").key(outKey));
                assertEquals(head.contentLength(), o.get("size").asLong(), outKey);
                assertEquals(expected.get(outKey), head.contentType());
                assertEquals("photos", head.metadata().get("sapiens-source-bucket"));
                assertEquals(eTag.replace("\"", ""), head.metadata().get("sapiens-source-etag"));
                assertEquals("sapiens-palette-demo", head.metadata().get("sapiens-model"));
            }
            // The class map stored is the function's class map for the same picture.
            Npy classes = Npy.read(s3.getObjectAsBytes(b -> b.bucket("photos").key("sapiens-seg/albums/summer 2024/my+cat.jpg_seg.npy")).asByteArray());
            Npy mask = Npy.read(s3.getObjectAsBytes(b -> b.bucket("photos").key("sapiens-seg/albums/summer 2024/my+cat.jpg.npy")).asByteArray());
            byte[] reference = referenceClassMap(figure);
            assertEquals(640, classes.height());
            assertEquals(480, classes.width());
            for (int i = 0; i < reference.length; i++) {
                assertEquals(reference[i], classes.values()[i]);
                assertEquals(reference[i] > 0 ? 1 : 0, mask.values()[i]);
            }
        }
    }

    private static byte[] referenceClassMap(byte[] picture) throws Exception {
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO))) {
            return Pipelines.segment(Pipelines.of(new ImageDecoder(new ImageLimits(50_000_000, 50_000_000)), model,
                    Normalization.LITE, 1, Duration.ofMinutes(1)), picture, EnumSet.of(OutputKind.CLASS_PNG)).classMap();
        }
    }

    /**
     * S3 -> SQS -> Knative's AWS SQS IntegrationSource, with the attributes it sets (fixed: the object is named only in
     * the data) and the message S3 sends first when notifications are configured.
     */
    @Test
    void knativeAwsSqsSourceEndToEnd() {
        upload("sqs/cat é.jpg", figure);
        String body = s3Notification("photos", "sqs/cat é.jpg", "ObjectCreated:Put");
        CloudEvents.binary("dev.knative.eventing.aws-sqs", "9CC70D09569020C-0000000000000002", "dev.knative.eventing.aws-sqs-source")
                .header("ce-subject", "aws-sqs-source").header("CamelAwsSqsMessageId", UUID.randomUUID().toString())
                .contentType("application/json").body(body.getBytes(StandardCharsets.UTF_8)).post("/")
                .then().statusCode(200)
                .header("ce-type", "sapiens.segment.stored")
                .body("results[0].source.key", equalTo("sqs/cat é.jpg"))
                .body("results[0].objects.size()", equalTo(5));
        CloudEvents.binary("dev.knative.eventing.aws-sqs", "9CC70D09569020C-0000000000000003", "dev.knative.eventing.aws-sqs-source")
                .contentType("application/json").body("""
                        {"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-06-24T10:10:02.089Z","Bucket":"photos",
                        "RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+Ys"}""")
                .post("/").then().statusCode(204).header("Sapiens-Ignored", containsString("s3:TestEvent"));
    }

    @Test
    void minioCloudEventsFormAndGcsShapes() {
        upload("minio/one.jpg", figure);
        event("dev.knative.kafka.event", StoredOutputs.minioNotification("photos", "minio/one.jpg")).then()
                .statusCode(200)
                .header("ce-subject", "minio/one.jpg").body("results[0].objects.size()", equalTo(5));

        upload("adapter/two.jpg", figure);
        String record = """
                {"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"photos"},"object":{"key":"adapter/two.jpg"}}}""";
        event("com.amazonaws.s3.ObjectCreated:Put", record).then().statusCode(200)
                .header("ce-subject", "adapter/two.jpg").body("results[0].source.key", equalTo("adapter/two.jpg"));

        upload("gcs/three four.jpg", figure);
        String gcs = """
                {"kind":"storage#object","bucket":"photos","name":"gcs/three four.jpg","contentType":"image/jpeg","size":"21037","generation":"1"}""";
        event("google.cloud.storage.object.v1.finalized", gcs).then().statusCode(200)
                .header("ce-subject", "gcs/three four.jpg").body("results[0].objects[0].key", startsWith("sapiens-seg/gcs/three four"));
    }

    @Test
    void plainJsonWebhookFromMinio() {
        upload("webhook/five.jpg", figure);
        given().contentType("application/json").body(StoredOutputs.minioNotification("photos", "webhook/five.jpg"))
                .post("/storage/notifications").then().statusCode(200)
                .contentType(startsWith("application/json"))
                .body("results[0].source.key", equalTo("webhook/five.jpg"))
                .body("results[0].objects.size()", equalTo(5));
        given().contentType("application/json").body("{\"hello\":1}").post("/storage/notifications")
                .then().statusCode(400).body("error", equalTo("malformed-event"));
    }

    @Test
    void redeliveryReusesCompleteOutputsAndAChangedObjectIsRedone() throws Exception {
        String key = "redelivery/six.jpg";
        upload(key, figure);
        String notification = s3Notification("photos", key, "ObjectCreated:Put");
        event("com.amazon.sqs.message", notification).then().statusCode(200).body("results[0].reused", equalTo(false));
        java.time.Instant firstWrite;
        try (S3Client s3 = S3ProxyResource.client()) {
            firstWrite = s3.headObject(b -> b.bucket("photos").key("sapiens-seg/redelivery/six.jpg_seg.npy")).lastModified();
        }
        Response again = event("com.amazon.sqs.message", notification);
        again.then().statusCode(200).body("results[0].reused", equalTo(true)).body("results[0].objects.size()", equalTo(5));
        try (S3Client s3 = S3ProxyResource.client()) {
            assertEquals(firstWrite, s3.headObject(b -> b.bucket("photos").key("sapiens-seg/redelivery/six.jpg_seg.npy")).lastModified());
            long outputs = s3.listObjectsV2(b -> b.bucket("photos").prefix("sapiens-seg/redelivery/")).contents().size();
            assertEquals(5, outputs, "redelivery must overwrite, never duplicate");
        }
        try (Mat other = TestImages.paint(64, 48, new TestImages.Region(0, 0, 32, 48, 14))) {
            upload(key, TestImages.jpeg(other));
        }
        event("com.amazon.sqs.message", notification).then().statusCode(200)
                .body("results[0].reused", equalTo(false)).body("results[0].segmentation.width", equalTo(64));
    }

    @Test
    void ownOutputsAndOtherEventsAreIgnoredWithoutALoop() {
        event("com.amazon.sqs.message", s3Notification("photos", "sapiens-seg/albums/x_seg.png", "ObjectCreated:Put"))
                .then().statusCode(204).header("Sapiens-Ignored", containsString("own outputs"));
        event("com.amazon.sqs.message", s3Notification("photos", "albums/x.jpg", "ObjectRemoved:Delete"))
                .then().statusCode(204).header("Sapiens-Ignored", containsString("not an object-created event"));
    }

    private static void assertPermanent(Response response, int status, String code) {
        response.then().statusCode(status).header("ce-type", "sapiens.segment.failed")
                .body("error", equalTo(code)).body("retryable", equalTo(false));
    }

    @Test
    void refusesBucketsOutsideTheAllowList() {
        try (S3Client s3 = S3ProxyResource.client()) {
            s3.putObject(b -> b.bucket("private").key("secret.jpg"), RequestBody.fromBytes(figure));
        }
        Response r = event("com.amazon.sqs.message", s3Notification("private", "secret.jpg", "ObjectCreated:Put"));
        assertPermanent(r, 403, "bucket-not-allowed");
        try (S3Client s3 = S3ProxyResource.client()) {
            assertTrue(s3.listObjectsV2(b -> b.bucket("private")).contents().stream().map(S3Object::key)
                    .noneMatch(k -> k.startsWith("sapiens-seg/")));
        }
    }

    @Test
    void missingObjectsNonImagesAndUnsafeKeysArePermanentFailures() {
        assertPermanent(event("com.amazon.sqs.message", s3Notification("photos", "nowhere/none.jpg", "ObjectCreated:Put")),
                422, "object-not-found");

        upload("docs/readme.jpg", "this is text, not a picture".getBytes());
        assertPermanent(event("com.amazon.sqs.message", s3Notification("photos", "docs/readme.jpg", "ObjectCreated:Put")),
                415, "unsupported-format");
        try (S3Client s3 = S3ProxyResource.client()) {
            assertTrue(s3.listObjectsV2(b -> b.bucket("photos").prefix("sapiens-seg/docs/")).contents().isEmpty(),
                    "nothing may be written for a failed picture");
        }
        for (String key : new String[] {"../escape.jpg", "a/../../b.jpg", "/abs.jpg", "ctl\u0001.jpg", "a//b.jpg"}) {
            Response r = event("com.amazon.sqs.message", s3Notification("photos", key, "ObjectCreated:Put"));
            assertPermanent(r, 400, "unsafe-key");
        }
        event("com.amazonaws.s3.ObjectCreated:Put", "{}").then().statusCode(400).body("error", equalTo("malformed-event"));
    }

    @Test
    void storageDownIsRetryable() throws Exception {
        upload("outage/seven.jpg", figure);
        String notification = s3Notification("photos", "outage/seven.jpg", "ObjectCreated:Put");
        S3ProxyResource.stopServer();
        try {
            event("com.amazon.sqs.message", notification).then().statusCode(503)
                    .header("Retry-After", "2")
                    .body("error", equalTo("storage-unavailable"))
                    .body("retryable", equalTo(true));
        } finally {
            S3ProxyResource.restartServer();
        }
        given().get("/q/health/ready").then().statusCode(200);
        event("com.amazon.sqs.message", notification).then().statusCode(200).body("results[0].reused", equalTo(false));
        try (S3Client s3 = S3ProxyResource.client()) {
            assertFalse(s3.listObjectsV2(b -> b.bucket("photos").prefix("sapiens-seg/outage/")).contents().isEmpty());
        }
    }
}
