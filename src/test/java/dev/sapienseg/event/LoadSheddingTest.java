package dev.sapienseg.event;

import dev.sapienseg.fixtures.CloudEvents;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.SampleImages;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * A minute at about twice the pod's capacity (8 closed-loop clients against max-in-flight 4), loopback only:
 * accepted requests complete with a bounded p99, the excess gets 429/503 with Retry-After, every request is
 * answered, and heap and native memory come back to their baseline (no leaked tensors or Mats).
 */
@QuarkusTest
@Tag("timing")
class LoadSheddingTest {

    @TestHTTPResource("/")
    URL url;

    @Test
    void twiceTheCapacityForAMinute() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> client.send(
                HttpRequest.newBuilder(URI.create(url + "q/health/ready")).build(), HttpResponse.BodyHandlers.discarding())
                .statusCode() == 200);
        byte[] picture = Files.readAllBytes(SampleImages.FIGURE_JPG);
        int clients = 8;
        // Warm-up at the same load: JIT, heap sizing and malloc arenas settle, so growth afterwards would be a leak.
        load(client, picture, clients, 15);
        long heapBefore = heapAfterGc();
        long rssBefore = rss();

        int seconds = Integer.getInteger("sapiens.test.load-seconds", 60);
        Map<Integer, Integer> statuses = new TreeMap<>();
        List<Long> accepted = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger missingRetryAfter = new AtomicInteger();
        AtomicInteger unanswered = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        for (int c = 0; c < clients; c++) {
            pool.execute(() -> {
                while (System.nanoTime() < end) {
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<Void> r;
                        try {
                            r = client.send(request(picture), HttpResponse.BodyHandlers.discarding());
                        } catch (java.io.IOException transport) {
                            // A pooled keep-alive connection can fail before any byte of an answer (seen once in
                            // 10^5 requests on loopback); queue-proxy retries those too. Once, printed; a second
                            // failure counts as unanswered.
                            System.out.println("retried after: " + transport);
                            r = client.send(request(picture), HttpResponse.BodyHandlers.discarding());
                        }
                        synchronized (statuses) {
                            statuses.merge(r.statusCode(), 1, Integer::sum);
                        }
                        if (r.statusCode() == 200) {
                            accepted.add(System.nanoTime() - t0);
                        } else if (r.headers().firstValue("Retry-After").isEmpty()) {
                            missingRetryAfter.incrementAndGet();
                        }
                    } catch (Exception e) {
                        if (unanswered.incrementAndGet() <= 3) {
                            System.out.println("unanswered: " + e);
                        }
                    }
                }
            });
        }
        pool.shutdown();
        assertTrue(pool.awaitTermination(seconds + 60L, TimeUnit.SECONDS), "clients did not finish");

        List<Long> sorted = new ArrayList<>(accepted);
        Collections.sort(sorted);
        long p50 = sorted.get(sorted.size() / 2) / 1_000_000;
        long p99 = sorted.get((int) (sorted.size() * 0.99)) / 1_000_000;
        long heapAfter = heapAfterGc();
        Thread.sleep(500);
        long rssAfter = rss();
        int total = statuses.values().stream().mapToInt(Integer::intValue).sum();
        System.out.printf("load: %d s, %d clients: %d requests %s (%.1f accepted/s), accepted p50 %d ms p99 %d ms, "
                + "heap %d -> %d MB, RSS %d -> %d MB%n", seconds, clients, total, statuses,
                accepted.size() / (double) seconds, p50, p99, heapBefore >> 20, heapAfter >> 20, rssBefore >> 20, rssAfter >> 20);

        assertEquals(0, unanswered.get(), "every request must be answered");
        assertTrue(statuses.keySet().stream().allMatch(s -> s == 200 || s == 429 || s == 503), statuses.toString());
        assertTrue(statuses.getOrDefault(429, 0) > 0, "twice the capacity must shed load: " + statuses);
        assertEquals(0, missingRetryAfter.get(), "shed requests must carry Retry-After");
        assertTrue(p99 < 5_000, "accepted p99 " + p99 + " ms");
        assertTrue(heapAfter < heapBefore + (64L << 20), "heap " + heapBefore + " -> " + heapAfter);
        assertTrue(rssAfter < rssBefore + (150L << 20), "native memory " + rssBefore + " -> " + rssAfter);
    }

    private HttpRequest request(byte[] picture) {
        return HttpRequest.newBuilder(URI.create(url.toString())).headers(CloudEvents.pairs(CloudEvents.IMAGE, java.util.UUID.randomUUID().toString(), "/load")).header("Content-Type", "image/jpeg").timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofByteArray(picture)).build();
    }

    private void load(HttpClient client, byte[] picture, int clients, int seconds) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        for (int c = 0; c < clients; c++) {
            pool.execute(() -> {
                while (System.nanoTime() < end) {
                    try {
                        client.send(request(picture), HttpResponse.BodyHandlers.discarding());
                    } catch (Exception e) {
                        return;
                    }
                }
            });
        }
        pool.shutdown();
        pool.awaitTermination(seconds + 60L, TimeUnit.SECONDS);
    }

    private static long heapAfterGc() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** Resident set size of this process (heap, native tensors, OpenCV Mats, ...). */
    private static long rss() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        }
        return 0;
    }
}
