package dev.sapienseg.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.metrics.SegmentationMetrics;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.lifecycle.SegmentationService;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * The status table and the clean-up end to end: the real SDK against the real S3-compatible server, with an S3 answer
 * S3Proxy cannot give (a 403 for a missing summary, SlowDown in the middle of the writes) injected in front of the
 * client as the SDK itself would throw it.
 */
@QuarkusTest
@WithTestResource(S3ProxyResource.class)
class StorageFaultsTest {

    @Inject
    SapiensConfig config;

    @Inject
    SegmentationService service;

    @Inject
    SegmentationMetrics metrics;

    private static byte[] figure;

    @BeforeEach
    void ready() throws Exception {
        Readiness.awaitReady();
        if (figure == null) {
            figure = java.nio.file.Files.readAllBytes(SampleImages.FIGURE_JPG);
        }
    }

    /** Called before each S3 call with its name and request; may throw (the injected answer) or act. */
    interface Fault {
        void before(String method, Object request) throws Exception;
    }

    static S3Client faulty(S3Client real, Fault fault) {
        return (S3Client) Proxy.newProxyInstance(S3Client.class.getClassLoader(), new Class<?>[] {S3Client.class},
                (proxy, method, args) -> {
                    if (args != null && args.length >= 1) {
                        fault.before(method.getName(), request(method.getName(), args[0]));
                    }
                    try {
                        return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @SuppressWarnings("unchecked")
    private static Object request(String method, Object arg) {
        if (!(arg instanceof Consumer<?> c)) {
            return arg;
        }
        return switch (method) {
            case "putObject" -> PutObjectRequest.builder().applyMutation((Consumer<PutObjectRequest.Builder>) c).build();
            case "getObject", "getObjectAsBytes" -> GetObjectRequest.builder()
                    .applyMutation((Consumer<GetObjectRequest.Builder>) c).build();
            case "headObject" -> HeadObjectRequest.builder().applyMutation((Consumer<HeadObjectRequest.Builder>) c).build();
            default -> arg;
        };
    }

    static S3Exception error(int status, String code) {
        return (S3Exception) S3Exception.builder().statusCode(status).message(code + " from the-store.example:9000")
                .awsErrorDetails(AwsErrorDetails.builder().errorCode(code).serviceName("S3").build()).build();
    }

    private StorageSegmenter pod(S3Client s3) {
        return new StorageSegmenter(s3, config, service, metrics);
    }

    private static List<ObjectEvent> created(String key) {
        return List.of(new ObjectEvent("photos", key, "ObjectCreated:Put", true));
    }

    private static Set<String> outputs(String key) {
        try (S3Client s3 = S3ProxyResource.client()) {
            return s3.listObjectsV2(b -> b.bucket("photos").prefix("sapiens-seg/" + key)).contents().stream()
                    .map(o -> o.key()).collect(Collectors.toSet());
        }
    }

    @Test
    void aForbiddenSummaryNotYetWrittenIsAbsentNotADeadLetter() throws Exception {
        String key = "faults/no-list-bucket.jpg";
        StorageHardeningTest.upload(key, figure);
        AtomicInteger refused = new AtomicInteger();
        try (S3Client real = S3ProxyResource.client()) {
            // Without s3:ListBucket, S3 answers 403 (not 404) for a key that does not exist.
            S3Client noListBucket = faulty(real, (method, request) -> {
                String read = request instanceof GetObjectRequest get ? get.key()
                        : request instanceof HeadObjectRequest head ? head.key() : "";
                if (read.endsWith(".json") && refused.getAndIncrement() == 0) {
                    throw error(403, "AccessDenied");
                }
            });
            StoredResult result = pod(noListBucket).handle(created(key)).results().get(0);
            assertFalse(result.reused());
            assertTrue(refused.get() >= 1);
            StorageHardeningTest.assertConsistent("sapiens-seg/" + key + ".json");
        }
    }

    @Test
    void aWriteThatFailsHalfWayLeavesNothingThatLooksCompleteAndSparesAnotherAttemptsObjects() throws Exception {
        String key = "faults/half-way.jpg";
        StorageHardeningTest.upload(key, figure);
        String mask = "sapiens-seg/" + key + ".npy";
        try (S3Client real = S3ProxyResource.client(); S3Client other = S3ProxyResource.client()) {
            // A previous success, so that a summary exists when the rewrite starts.
            pod(real).handle(created(key));
            try (org.bytedeco.opencv.opencv_core.Mat other2 = dev.sapienseg.fixtures.TestImages.paint(64, 48,
                    new dev.sapienseg.fixtures.TestImages.Region(0, 0, 32, 48, 14))) {
                StorageHardeningTest.upload(key, dev.sapienseg.fixtures.TestImages.jpeg(other2)); // new version: recompute
            }
            S3Client slowsDown = faulty(real, (method, request) -> {
                if (request instanceof PutObjectRequest put && put.key().endsWith("_seg.png")) {
                    // Meanwhile another attempt (another pod) has replaced our mask with its own.
                    other.putObject(b -> b.bucket("photos").key(mask).metadata(Map.of("sapiens-attempt", "another")),
                            RequestBody.fromBytes("theirs".getBytes()));
                    throw error(503, "SlowDown");
                }
            });
            SegmentationException e = assertThrows(SegmentationException.class, () -> pod(slowsDown).handle(created(key)));
            assertEquals(FailureReason.STORAGE_UNAVAILABLE, e.reason());
            assertFalse(e.getMessage().contains("the-store.example"), e.getMessage());
            Set<String> left = outputs(key);
            assertFalse(left.contains("sapiens-seg/" + key + ".json"), "no summary may vouch for a half-written set: " + left);
            assertFalse(left.contains("sapiens-seg/" + key + "_seg.npy"), "our own partial output is removed: " + left);
            assertTrue(left.contains(mask), "the other attempt's object stays: " + left);
            try (S3Client s3 = S3ProxyResource.client()) {
                assertEquals("another", s3.headObject(b -> b.bucket("photos").key(mask)).metadata().get("sapiens-attempt"));
            }
            // (The class PNG and overlay of the earlier success were not written by this attempt: they stay, unvouched.)
            // The redelivery recomputes and ends consistent.
            StoredResult again = pod(real).handle(created(key)).results().get(0);
            assertFalse(again.reused());
            StorageHardeningTest.assertConsistent("sapiens-seg/" + key + ".json");
        }
    }

    @Test
    void resultsThatCannotBeReadBackAreNotReportedAsStored() {
        String key = "faults/no-get-on-outputs.jpg";
        StorageHardeningTest.upload(key, figure);
        try (S3Client real = S3ProxyResource.client()) {
            // Credentials without s3:GetObject on the output prefix: nothing written can be verified.
            S3Client writeOnly = faulty(real, (method, request) -> {
                if (request instanceof GetObjectRequest get && get.key().startsWith("sapiens-seg/")) {
                    throw error(403, "AccessDenied");
                }
            });
            SegmentationException e = assertThrows(SegmentationException.class, () -> pod(writeOnly).handle(created(key)));
            assertEquals(FailureReason.STORAGE_UNAVAILABLE, e.reason());
            assertTrue(e.getMessage().contains("s3:GetObject"), e.getMessage());
        }
    }

    @Test
    void throttlingAndExpiredCredentialsOnTheSourceAreRetryable() {
        String key = "faults/throttled.jpg";
        StorageHardeningTest.upload(key, figure);
        try (S3Client real = S3ProxyResource.client()) {
            for (S3Exception answer : List.of(error(503, "SlowDown"), error(400, "RequestTimeout"), error(400, "ExpiredToken"),
                    error(403, "RequestTimeTooSkewed"), error(409, "OperationAborted"))) {
                S3Client s3 = faulty(real, (method, request) -> {
                    if (method.equals("headObject")) {
                        throw answer;
                    }
                });
                SegmentationException e = assertThrows(SegmentationException.class, () -> pod(s3).handle(created(key)));
                assertEquals(FailureReason.STORAGE_UNAVAILABLE, e.reason(), answer.awsErrorDetails().errorCode());
            }
        }
    }

    @Test
    void wrongCredentialsAreAccessDeniedAndAMissingObjectIsNotFound() {
        StorageHardeningTest.upload("faults/creds.jpg", figure);
        try (S3Client wrong = S3Client.builder().endpointOverride(URI.create(S3ProxyResource.endpoint())).forcePathStyle(true)
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(S3ProxyResource.ACCESS_KEY, "wrong")))
                .httpClientBuilder(ApacheHttpClient.builder()).build()) {
            SegmentationException e = assertThrows(SegmentationException.class, () -> pod(wrong).handle(created("faults/creds.jpg")));
            assertEquals(FailureReason.STORAGE_ACCESS_DENIED, e.reason(), e.getMessage());
        }
        try (S3Client real = S3ProxyResource.client()) {
            SegmentationException e = assertThrows(SegmentationException.class, () -> pod(real).handle(created("faults/none.jpg")));
            assertEquals(FailureReason.OBJECT_NOT_FOUND, e.reason());
        }
    }
}
