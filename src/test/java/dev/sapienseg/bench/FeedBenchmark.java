package dev.sapienseg.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.sapienseg.fixtures.CloudEvents;
import dev.sapienseg.fixtures.PackagedApp;

/**
 * How much CPU the server spends per picture outside the model run: what a GPU pod's CPUs must supply for its GPU.
 * The packaged server runs as a GPU pod is configured (batches of 1, 2, 4, 8; 32 in flight) with the palette demo
 * model, whose run is nearly free, and ONNX Runtime on one intra-op thread, so that the whole model run is on the
 * {@code sapiens-inference-0} thread. Clients post 1080p JPEGs (binary CloudEvents, class PNG reply) for a fixed time;
 * the server process's CPU time (all threads, from /proc) minus that thread's, over the pictures answered, is the CPU
 * side per picture. Not a test:
 *
 * <pre>
 * mvn -B package -DskipTests
 * mvn -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.sapienseg.bench.FeedBenchmark -Dexec.args="20"
 * </pre>
 *
 * The argument is the measured seconds per point (after 5 s of warm-up at the same concurrency). Linux only.
 * {@code -Dfeed.jvm="-XX:StartFlightRecording=filename=/tmp/feed.jfr,settings=profile"} adds JVM options to the
 * server (space-separated), for a profile of the same load.
 */
public final class FeedBenchmark {

    private static final int PORT = 18093;
    private static final int[] CLIENTS = {2, 8, 16};
    private static final long TICKS_PER_SECOND = 100; // USER_HZ on Linux

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        byte[] picture = StageBenchmark.photoLikeJpeg(1920, 1080, 7);
        System.out.printf("palette demo model, 1920x1080 JPEG (%d KB), class PNG reply, %d s per point, %d cores%n",
                picture.length / 1024, seconds, Runtime.getRuntime().availableProcessors());
        // -Dfeed.jvm="-XX:StartFlightRecording=..." profiles the server (JVM options, space-separated).
        List<String> options = new ArrayList<>(List.of("sapiens.batching.max-batch-size=8",
                "sapiens.batching.batch-sizes=1,2,4,8", "sapiens.batching.max-delay=5ms",
                "sapiens.limits.max-in-flight=32", "sapiens.limits.queue-timeout=120s",
                "sapiens.execution.intra-op-threads=1", "quarkus.log.level=WARN"));
        String jvm = System.getProperty("feed.jvm", "").strip();
        if (!jvm.isEmpty()) {
            options.addAll(List.of(jvm.split("\\s+")));
        }
        try (PackagedApp app = PackagedApp.start(PORT, options.toArray(String[]::new))) {
            app.awaitReady(Duration.ofSeconds(120));
            System.out.println("| clients | pictures/s | server CPU per picture | of it outside the model run | pictures/s per core at that cost |");
            System.out.println("|---|---|---|---|---|");
            for (int clients : CLIENTS) {
                post(app, picture, clients, 5);
                long[] before = cpu(app.pid());
                long start = System.nanoTime();
                int answered = post(app, picture, clients, seconds);
                double elapsed = (System.nanoTime() - start) / 1e9;
                long[] after = cpu(app.pid());
                double total = (after[0] - before[0]) * 1000.0 / TICKS_PER_SECOND / answered;
                double outside = (after[0] - before[0] - (after[1] - before[1])) * 1000.0 / TICKS_PER_SECOND / answered;
                System.out.printf("| %d | %.1f | %.1f ms | %.1f ms | %.1f |%n", clients, answered / elapsed, total,
                        outside, 1000.0 / outside);
            }
        }
    }

    /** Posts for {@code seconds} from {@code clients} threads; returns the pictures answered 200. */
    private static int post(PackagedApp app, byte[] picture, int clients, int seconds) throws InterruptedException {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        ExecutorService callers = Executors.newFixedThreadPool(clients);
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger other = new AtomicInteger();
        for (int t = 0; t < clients; t++) {
            callers.execute(() -> {
                while (System.nanoTime() < end) {
                    HttpRequest request = HttpRequest.newBuilder(app.uri("/"))
                            .headers(CloudEvents.pairs(CloudEvents.IMAGE, UUID.randomUUID().toString(), "/feed"))
                            .header("Content-Type", "image/jpeg").timeout(Duration.ofSeconds(120))
                            .POST(HttpRequest.BodyPublishers.ofByteArray(picture)).build();
                    try {
                        int status = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
                        (status == 200 ? ok : other).incrementAndGet();
                    } catch (IOException | InterruptedException e) {
                        other.incrementAndGet();
                    }
                }
            });
        }
        callers.shutdown();
        callers.awaitTermination(seconds + 180L, TimeUnit.SECONDS);
        if (other.get() > 0) {
            System.out.printf("(%d answers other than 200 at %d clients)%n", other.get(), clients);
        }
        return ok.get();
    }

    /** The process's CPU ticks (user + system, all threads) and those of its model-run thread. */
    private static long[] cpu(long pid) throws IOException {
        long inference = 0;
        try (var tasks = Files.list(Path.of("/proc", String.valueOf(pid), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                String stat = Files.readString(task.resolve("stat"));
                if (stat.contains("(sapiens-inferen")) {
                    inference += ticks(stat);
                }
            }
        }
        return new long[] {ticks(Files.readString(Path.of("/proc", String.valueOf(pid), "stat"))), inference};
    }

    /** utime + stime of a /proc stat line (fields 14 and 15; the name in parentheses may hold spaces). */
    private static long ticks(String stat) {
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }
}
