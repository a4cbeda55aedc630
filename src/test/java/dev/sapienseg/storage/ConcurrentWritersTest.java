package dev.sapienseg.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.metrics.SegmentationMetrics;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.lifecycle.SegmentationService;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * Two pods racing on one object: two independent {@link StorageSegmenter}s (own clients, own single-flight maps)
 * against the same S3-compatible server. Whatever the interleaving, the end state is one consistent output set: the
 * summary lists exactly the ETags the objects have.
 */
@QuarkusTest
@WithTestResource(S3ProxyResource.class)
@Tag("timing")
class ConcurrentWritersTest {

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

    @Test
    void twoPodsRacingOnOneObjectLeaveOneConsistentSet() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (S3Client a = S3ProxyResource.client(); S3Client b = S3ProxyResource.client()) {
            StorageSegmenter podA = new StorageSegmenter(a, config, service, metrics);
            StorageSegmenter podB = new StorageSegmenter(b, config, service, metrics);
            for (int round = 0; round < 3; round++) {
                String key = "race/pods-" + round + ".jpg";
                StorageHardeningTest.upload(key, figure);
                List<ObjectEvent> event = List.of(new ObjectEvent("photos", key, "ObjectCreated:Put", true));
                CountDownLatch go = new CountDownLatch(1);
                List<Future<StoredResult.Reply>> answers = new ArrayList<>();
                for (StorageSegmenter pod : List.of(podA, podB)) {
                    answers.add(pool.submit(() -> {
                        go.await();
                        return pod.handle(event);
                    }));
                }
                go.countDown();
                int succeeded = 0;
                for (Future<StoredResult.Reply> f : answers) {
                    try {
                        StoredResult result = f.get().results().get(0);
                        assertEquals(null, result.error());
                        succeeded++;
                    } catch (java.util.concurrent.ExecutionException e) {
                        // Allowed only as a retryable answer: the redelivery then finds the consistent set.
                        SegmentationException se = (SegmentationException) e.getCause();
                        assertTrue(se.reason().retryable(), se.getMessage());
                    }
                }
                assertTrue(succeeded >= 1, "at least one pod stored the results");
                StorageHardeningTest.assertConsistent("sapiens-seg/" + key + ".json");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void anotherPodsWriteBetweenOurOutputsAndOurSummaryIsDetectedAndRewritten() throws Exception {
        String key = "race/interleaved.jpg";
        StorageHardeningTest.upload(key, figure);
        String classMap = "sapiens-seg/" + key + "_seg.npy";
        AtomicInteger summaryPuts = new AtomicInteger();
        try (S3Client real = S3ProxyResource.client(); S3Client other = S3ProxyResource.client()) {
            // The real client, except that just before our first summary lands another writer replaces an output.
            S3Client interleaved = (S3Client) Proxy.newProxyInstance(S3Client.class.getClassLoader(),
                    new Class<?>[] {S3Client.class}, (proxy, method, args) -> {
                        if (method.getName().equals("putObject") && args != null && args.length == 2) {
                            PutObjectRequest request = args[0] instanceof PutObjectRequest r ? r
                                    : PutObjectRequest.builder().applyMutation(castConsumer(args[0])).build();
                            if (request.key().endsWith(".json") && summaryPuts.incrementAndGet() == 1) {
                                other.putObject(p -> p.bucket("photos").key(classMap),
                                        RequestBody.fromBytes("another pod's bytes".getBytes()));
                            }
                        }
                        try {
                            return method.invoke(real, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
            StorageSegmenter pod = new StorageSegmenter(interleaved, config, service, metrics);
            StoredResult result = pod.handle(List.of(new ObjectEvent("photos", key, "ObjectCreated:Put", true)))
                    .results().get(0);
            assertEquals(null, result.error());
            assertFalse(result.reused());
            assertEquals(2, summaryPuts.get(), "the mismatch was seen and the set written again");
            StorageHardeningTest.assertConsistent("sapiens-seg/" + key + ".json");
            try (S3Client s3 = S3ProxyResource.client()) {
                for (StoredResult.StoredObject o : result.objects()) {
                    assertEquals(s3.headObject(h -> h.bucket("photos").key(o.key())).eTag().replace("\"", ""), o.eTag(), o.key());
                }
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Consumer<PutObjectRequest.Builder> castConsumer(Object o) {
        return (Consumer<PutObjectRequest.Builder>) o;
    }
}
