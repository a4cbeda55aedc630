package dev.sapienseg.storage;

import dev.sapienseg.fixtures.CloudEvents;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.logging.Handler;
import java.util.logging.LogRecord;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.fixtures.TestImages;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * The attacks on "storage never loses or misreports anything", end to end over HTTP against a real S3-compatible
 * server: a deleted output, colliding names, broken key encodings, oversized metadata, many records, concurrent
 * redeliveries, forged log lines and what failure messages reveal.
 */
@QuarkusTest
@WithTestResource(S3ProxyResource.class)
class StorageHardeningTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static byte[] figure;
    private static byte[] small;

    @BeforeEach
    void ready() throws Exception {
        Readiness.awaitReady();
        if (figure == null) {
            figure = java.nio.file.Files.readAllBytes(SampleImages.FIGURE_JPG);
            try (Mat other = TestImages.paint(64, 48, new TestImages.Region(0, 0, 32, 48, 14))) {
                small = TestImages.jpeg(other);
            }
        }
    }

    static String upload(String key, byte[] data) {
        try (S3Client s3 = S3ProxyResource.client()) {
            return s3.putObject(b -> b.bucket("photos").key(key).contentType("image/jpeg"), RequestBody.fromBytes(data)).eTag();
        }
    }

    static String record(String bucket, String rawKey) {
        return """
                {"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"%s"},"object":{"key":"%s"}}}"""
                .formatted(bucket, rawKey);
    }

    static String notification(String... records) {
        return "{\"Records\":[" + String.join(",", records) + "]}";
    }

    static String encoded(String key) {
        return URLEncoder.encode(key, StandardCharsets.UTF_8);
    }

    static Response event(String json) {
        return CloudEvents.binary("com.amazon.sqs.message", UUID.randomUUID().toString(), "/tests/storage")
                .contentType("application/json").body(json).post("/");
    }

    static Response one(String key) {
        return event(notification(record("photos", encoded(key))));
    }

    static List<String> keys(Response response, int result) throws Exception {
        List<String> keys = new ArrayList<>();
        JSON.readTree(response.asByteArray()).get("results").get(result).get("objects")
                .forEach(o -> keys.add(o.get("key").asText()));
        return keys;
    }

    /** The summary lists every output with the ETag it has now, and the objects exist. */
    static void assertConsistent(String summaryKey) throws Exception {
        try (S3Client s3 = S3ProxyResource.client()) {
            JsonNode summary = JSON.readTree(s3.getObjectAsBytes(b -> b.bucket("photos").key(summaryKey)).asByteArray());
            assertTrue(summary.get("objects").size() >= 4, summary.toString());
            for (JsonNode o : summary.get("objects")) {
                String key = o.get("key").asText();
                HeadObjectResponse head = s3.headObject(b -> b.bucket("photos").key(key));
                assertTrue(o.hasNonNull("eTag"), "the summary records each output's ETag: " + o);
                assertEquals(head.eTag().replace("\"", ""), o.get("eTag").asText().replace("\"", ""), key);
            }
        }
    }

    @Test
    void aDeletedOutputIsWrittenAgainNotReported() throws Exception {
        String key = "attack1/deleted.jpg";
        upload(key, figure);
        Response first = one(key);
        first.then().statusCode(200).body("results[0].reused", equalTo(false));
        String classMap = keys(first, 0).stream().filter(k -> k.endsWith("_seg.npy")).findFirst().orElseThrow();
        try (S3Client s3 = S3ProxyResource.client()) {
            s3.deleteObject(b -> b.bucket("photos").key(classMap));
        }
        one(key).then().statusCode(200).body("results[0].reused", equalTo(false));
        try (S3Client s3 = S3ProxyResource.client()) {
            assertTrue(s3.headObject(b -> b.bucket("photos").key(classMap)).contentLength() > 0);
        }
        // An output overwritten with other bytes is not "complete" either.
        try (S3Client s3 = S3ProxyResource.client()) {
            s3.putObject(b -> b.bucket("photos").key(classMap), RequestBody.fromBytes(new byte[] {1, 2, 3}));
        }
        one(key).then().statusCode(200).body("results[0].reused", equalTo(false));
        one(key).then().statusCode(200).body("results[0].reused", equalTo(true));
        String summary = keys(first, 0).stream().filter(k -> k.endsWith(".json")).findFirst().orElseThrow();
        assertConsistent(summary);
    }

    @Test
    void outputNamesNeverCollide() throws Exception {
        upload("attack7/x.jpg", figure);
        upload("attack7/x_seg.jpg", small);
        upload("attack7/a.jpg", figure);
        upload("attack7/a.png", small);
        Set<String> all = new HashSet<>();
        int total = 0;
        for (String key : new String[] {"attack7/x.jpg", "attack7/x_seg.jpg", "attack7/a.jpg", "attack7/a.png"}) {
            Response r = one(key);
            r.then().statusCode(200);
            List<String> written = keys(r, 0);
            total += written.size();
            all.addAll(written);
        }
        assertEquals(total, all.size(), "every output key belongs to one source: " + all);
        // x.jpg's class map is x.jpg's (480 x 640), not x_seg.jpg's mask.
        for (String key : all) {
            if (key.endsWith(".json")) {
                assertConsistent(key);
            }
        }
    }

    @Test
    void aKeyThatIsNotUrlEncodingIsAPermanentMalformedEvent() {
        event(notification(record("photos", "100%.jpg"))).then().statusCode(400)
                .body("error", equalTo("malformed-event")).body("message", containsString("URL"));
        event(notification(record("photos", "bad%zzkey.jpg"))).then().statusCode(400);
    }

    @Test
    void metadataFitsTheUserMetadataLimitForLongMultiByteKeys() throws Exception {
        String key = "attack5/" + "\u00e9\u4e2d".repeat(170) + ".jpg"; // 8 + 170 * 5 + 4 = 862 bytes
        assertTrue(key.getBytes(StandardCharsets.UTF_8).length > 850);
        upload(key, small);
        Response r = one(key);
        r.then().statusCode(200);
        try (S3Client s3 = S3ProxyResource.client()) {
            for (String out : keys(r, 0)) {
                HeadObjectResponse head = s3.headObject(b -> b.bucket("photos").key(out));
                int bytes = 0;
                for (Map.Entry<String, String> m : head.metadata().entrySet()) {
                    bytes += ("x-amz-meta-" + m.getKey()).getBytes(StandardCharsets.UTF_8).length
                            + m.getValue().getBytes(StandardCharsets.UTF_8).length;
                }
                assertTrue(bytes <= 2048, out + ": " + bytes + " bytes of user metadata " + head.metadata());
            }
        }
    }

    @Test
    void oneBadRecordDoesNotLoseTheOthers() throws Exception {
        upload("attack6/good.jpg", figure);
        Response r = event(notification(record("photos", "attack6/good.jpg"), record("photos", "attack6/missing.jpg"),
                record("photos", "100%.jpg")));
        r.then().statusCode(200)
                .body("results.size()", equalTo(3))
                .body("results[0].reused", equalTo(false))
                .body("results[0].source.key", equalTo("attack6/good.jpg"))
                .body("results[1].error.code", equalTo("object-not-found"))
                .body("results[1].error.status", equalTo(422))
                .body("results[1].error.retryable", equalTo(false))
                .body("results[2].error.code", equalTo("malformed-event"));
        // All permanent failures: the (first) permanent status, nothing retried.
        event(notification(record("photos", "attack6/missing.jpg"), record("private", "attack6/x.jpg")))
                .then().statusCode(422).body("error", equalTo("object-not-found"));
    }

    @Test
    void tooManyRecordsAreRefusedBeforeAnyWork() {
        upload("attack6/many.jpg", figure);
        List<String> records = new ArrayList<>();
        for (int i = 0; i < 101; i++) {
            records.add(record("photos", "attack6/many.jpg"));
        }
        event(notification(records.toArray(String[]::new))).then().statusCode(413)
                .body("error", equalTo("too-many-records"));
        try (S3Client s3 = S3ProxyResource.client()) {
            assertTrue(s3.listObjectsV2(b -> b.bucket("photos").prefix("sapiens-seg/attack6/many")).contents().isEmpty());
        }
    }

    @Test
    void manyIgnoredRecordsKeepTheHeaderShort() {
        List<String> records = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            records.add("""
                    {"eventName":"ObjectRemoved:Delete-%d-%s","s3":{"bucket":{"name":"photos"},"object":{"key":"k%d.jpg"}}}"""
                    .formatted(i, "x".repeat(50), i));
        }
        String header = event(notification(records.toArray(String[]::new))).then().statusCode(204)
                .extract().header("Sapiens-Ignored");
        assertTrue(header.length() < 300, header);
        assertTrue(header.startsWith("100 ignored"), header);
    }

    @Test
    void failureMessagesRevealNeitherTheAllowListNorTheEndpoint() throws Exception {
        event(notification(record("private", "secret.jpg"))).then().statusCode(403)
                .body("error", equalTo("bucket-not-allowed"))
                .body("message", not(containsString("photos")));
        upload("attack9/down.jpg", figure);
        S3ProxyResource.stopServer();
        try {
            one("attack9/down.jpg").then().statusCode(503).header("Retry-After", "2")
                    .body("message", not(containsString("127.0.0.1")))
                    .body("message", not(containsString(S3ProxyResource.endpoint())));
        } finally {
            S3ProxyResource.restartServer();
        }
    }

    @Test
    void controlCharactersInKeysDoNotForgeLogLines() {
        List<String> lines = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                String message = record.getMessage();
                Object[] params = record.getParameters();
                if (params != null && params.length > 0) {
                    try {
                        message = String.format(message, params);
                    } catch (RuntimeException e) {
                        message = java.text.MessageFormat.format(message, params);
                    }
                }
                lines.add(message);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger("dev.sapienseg");
        logger.addHandler(capture);
        try {
            String forged = "a.jpg\r\n2026-01-01 INFO FORGED line";
            event(notification("""
                    {"eventName":"ObjectRemoved:Delete\\nFORGED","s3":{"bucket":{"name":"photos\\r\\nFORGED"},"object":{"key":"%s"}}}"""
                    .formatted(encoded(forged)))).then().statusCode(204);
            event(notification(record("photos", encoded("sapiens-seg/" + forged)))).then().statusCode(204);
            event(notification(record("nope\\nFORGED", encoded(forged)))).then().statusCode(403);
            event(notification(record("photos", encoded(forged)))).then().statusCode(400);
        } finally {
            logger.removeHandler(capture);
        }
        assertFalse(lines.isEmpty(), "the test saw the log");
        for (String line : lines) {
            assertFalse(line.contains("\n") || line.contains("\r"), "a log line was split: " + line);
        }
    }

    @Test
    void concurrentDeliveriesOfOneNotificationEndConsistent() throws Exception {
        String key = "attack2/concurrent.jpg";
        upload(key, figure);
        String json = notification(record("photos", encoded(key)));
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Response>> answers = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                answers.add(pool.submit(() -> {
                    go.await();
                    return event(json);
                }));
            }
            go.countDown();
            int reused = 0;
            for (Future<Response> f : answers) {
                Response r = f.get();
                r.then().statusCode(200);
                if (r.jsonPath().getBoolean("results[0].reused")) {
                    reused++;
                }
            }
            assertEquals(1, reused, "the second delivery waits for the first and answers from its result");
        } finally {
            pool.shutdownNow();
        }
        try (S3Client s3 = S3ProxyResource.client()) {
            String summary = s3.listObjectsV2(b -> b.bucket("photos").prefix("sapiens-seg/attack2/")).contents().stream()
                    .map(o -> o.key()).filter(k -> k.endsWith(".json")).findFirst().orElseThrow();
            assertConsistent(summary);
        } catch (NoSuchKeyException e) {
            throw new AssertionError(e);
        }
    }
}
