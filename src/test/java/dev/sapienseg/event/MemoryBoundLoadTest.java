package dev.sapienseg.event;

import dev.sapienseg.fixtures.CloudEvents;
import java.util.EnumSet;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.LargeImages;
import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.pipeline.MemoryBound;
import dev.sapienseg.output.OutputKind;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;

/**
 * The memory bound, proven at max-in-flight: pictures at the pixel limit, incompressible (noise, so every PNG is as
 * large as it gets), asking for mask and overlay, more of them at once than the pod admits. The budget admits three
 * such requests (3 × 76 bytes × 3 MP), so the fourth in flight is refused 429 for memory, and the process's memory
 * outside the Java heap grows by no more than the budget plus the request bodies (which Knative's containerConcurrency
 * bounds). The Java heap is bounded by its own maximum (-XX:MaxRAMPercentage in the images), whatever garbage it holds.
 */
@QuarkusTest
@TestProfile(MemoryBoundLoadTest.Profile.class)
@Tag("timing")
class MemoryBoundLoadTest {

    static final long PIXELS = 3_000_000;
    static final long BUDGET = 720_000_000L;

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // A model run of about a second holds each admitted request's reservation while the others arrive: with
            // the demo model's few milliseconds, five concurrent clients sometimes followed one another (all 200).
            Path model;
            try {
                Path dir = Files.createTempDirectory("slow-model");
                dir.toFile().deleteOnExit();
                model = dev.sapienseg.fixtures.SlowModels.write(dir, java.time.Duration.ofSeconds(1));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return Map.of("sapiens.limits.max-image-pixels", String.valueOf(PIXELS),
                    "sapiens.limits.max-in-flight", "4",
                    "sapiens.limits.memory-budget", String.valueOf(BUDGET),
                    "sapiens.limits.queue-timeout", "120s",
                    "sapiens.model.path", model.toString(),
                    "sapiens.execution.warm-up", "always");
        }
    }

    @BeforeEach
    void ready() {
        Readiness.awaitReady();
    }

    /**
     * Memory outside the Java heap. Surefire runs the tests with a fixed, pre-touched heap (-Xms = -Xmx,
     * AlwaysPreTouch: see pom.xml), so the heap's share of RSS is constant and RSS moves with native memory only.
     */
    static long nativeBytes() {
        return rssBytes();
    }

    static long rssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        throw new IllegalStateException("no VmRSS");
    }

    @Test
    void requestsAtThePixelLimitStayWithinTheBudget() throws Exception {
        measure(EnumSet.of(OutputKind.CLASS_PNG, OutputKind.OVERLAY), 3);
    }

    /** Every picture a reply can carry, the selection's mask and cutout too: one request's worth at a time. */
    @Test
    void everyPictureOutputAtThePixelLimitStaysWithinTheBudget() throws Exception {
        measure(EnumSet.of(OutputKind.CLASS_PNG, OutputKind.OVERLAY, OutputKind.SELECTION_MASK, OutputKind.CUTOUT), 1);
    }

    private void measure(java.util.Set<OutputKind> outputs, long admitted) throws Exception {
        int side = (int) Math.sqrt(PIXELS);
        byte[] png;
        try (Mat noise = LargeImages.noise(side, side, 11)) {
            png = TestImages.png(noise);
        }
        long perRequest = MemoryBound.estimate((long) side * side, png.length,
                new dev.sapienseg.output.OutputPlanner(dev.sapienseg.classes.Vocabulary.GOLIATH_28, null, false)
                        .plan(outputs));
        assertEquals(admitted, BUDGET / perRequest, "the budget admits " + admitted + " of these at once");
        String names = String.join(",", outputs.stream().map(OutputKind::id).toList());

        // Warm up with a small picture (codecs, JIT), then measure from there: the large ones all count.
        try (Mat small = LargeImages.noise(200, 200, 5)) {
            send(TestImages.png(small), names).then().statusCode(200);
        }
        var heap = java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        assertEquals(heap.getInit(), heap.getCommitted(), "the test JVM runs with a fixed heap (pom.xml argLine)");
        long baseline = nativeBytes();
        long rssBefore = rssBytes();
        AtomicLong peak = new AtomicLong(baseline);
        AtomicLong peakRss = new AtomicLong(rssBefore);
        AtomicBoolean sampling = new AtomicBoolean(true);
        Thread sampler = new Thread(() -> {
            while (sampling.get()) {
                peak.accumulateAndGet(nativeBytes(), Math::max);
                peakRss.accumulateAndGet(rssBytes(), Math::max);
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.start();
        int clients = 5;
        int rounds = 1;
        List<Integer> statuses = new ArrayList<>();
        List<String> refusals = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            for (int round = 0; round < rounds; round++) {
                List<Future<Response>> answers = new ArrayList<>();
                for (int i = 0; i < clients; i++) {
                    answers.add(pool.submit(() -> send(png, names)));
                }
                for (Future<Response> answer : answers) {
                    Response r = answer.get();
                    statuses.add(r.statusCode());
                    if (r.statusCode() == 429) {
                        refusals.add(r.path("message"));
                    }
                }
            }
        } finally {
            pool.shutdown();
            sampling.set(false);
            sampler.join();
        }
        long bodies = 2L * clients * png.length;
        long bound = BUDGET + bodies;
        long growth = peak.get() - baseline;
        System.out.printf("memory bound, " + names + ": %d requests (%s), picture %d px, %d bytes; estimate %d MB each, budget %d MB;"
                + " outside the heap %d MB -> peak %d MB (+%d MB; bound %d MB = budget + bodies %d MB); RSS %d -> %d MB%n",
                statuses.size(), statuses, (long) side * side, png.length, perRequest >> 20, BUDGET >> 20,
                baseline >> 20, peak.get() >> 20, growth >> 20, bound >> 20, bodies >> 20, rssBefore >> 20,
                peakRss.get() >> 20);
        assertTrue(statuses.stream().allMatch(s -> s == 200 || s == 429), statuses.toString());
        assertTrue(statuses.contains(200), statuses.toString());
        assertTrue(refusals.stream().anyMatch(m -> m.contains("memory budget") || m.contains("concurrent requests")),
                refusals.toString());
        assertTrue(growth <= bound, "memory outside the heap grew by " + (growth >> 20) + " MB, over the bound of "
                + (bound >> 20) + " MB");
        given().get("/q/health/live").then().statusCode(200);
    }

    private static Response send(byte[] png, String outputs) {
        return CloudEvents.image()
                .header("ce-sapiensoutputs", outputs).contentType("image/png").body(png).post("/");
    }
}
