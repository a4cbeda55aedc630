package dev.sapienseg.bench;

import dev.sapienseg.fixtures.CloudEvents;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.sapienseg.fixtures.FixtureModels;

/**
 * Load generator against the packaged function over loopback HTTP: images/s and p50/p99 latency at concurrency 1, 4
 * and 16, with dynamic batching off and on, on the tiny ViT fixture with 1080p JPEGs. Not a test:
 *
 * <pre>
 * mvn -B package -DskipTests
 * mvn -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.sapienseg.bench.LoadBenchmark -Dexec.args="12"
 * </pre>
 *
 * The argument is the measured seconds per point (after 3 s of warm-up). Bounded in time and loopback only.
 */
public final class LoadBenchmark {

    private static final int PORT = 18089;

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 12;
        byte[] picture = StageBenchmark.photoLikeJpeg(1920, 1080, 7);
        System.out.printf("tiny ViT fixture, 1920x1080 JPEG (%d KB), reply with class PNG, %d s per point, %d cores%n",
                picture.length / 1024, seconds, Runtime.getRuntime().availableProcessors());
        System.out.println("| batching | concurrency | images/s | p50 ms | p99 ms | mean batch | non-200 |");
        System.out.println("|---|---|---|---|---|---|---|");
        String[][] modes = {{"off", "1", "0ms"}, {"on (max 8, 10 ms)", "8", "10ms"}};
        for (String[] mode : modes) {
            Process app = start(mode[1], mode[2]);
            try {
                awaitReady();
                for (int concurrency : new int[] {1, 4, 16}) {
                    run(picture, concurrency, 3, null);
                    Result r = run(picture, concurrency, seconds, new ArrayList<>());
                    System.out.printf("| %s | %d | %.2f | %.0f | %.0f | %.2f | %d |%n", mode[0], concurrency, r.rate, r.p50,
                            r.p99, r.meanBatch, r.errors);
                }
            } finally {
                app.destroy();
                app.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    private static Process start(String maxBatch, String maxDelay) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder app = new ProcessBuilder(java.toString(), "-Dquarkus.http.port=" + PORT,
                "-Dsapiens.model.path=" + FixtureModels.TINY_VIT, "-Dsapiens.batching.max-batch-size=" + maxBatch,
                "-Dsapiens.batching.max-delay=" + maxDelay, "-Dsapiens.limits.max-in-flight=32",
                "-Dsapiens.limits.queue-timeout=120s", "-Dquarkus.log.level=WARN",
                "-jar", "target/quarkus-app/quarkus-run.jar")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        app.environment().put("OPENBLAS_NUM_THREADS", "1");
        return app.start();
    }

    private static void awaitReady() throws Exception {
        HttpClient client = HttpClient.newHttpClient();
        long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < until) {
            try {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + PORT + "/q/health/ready"))
                        .build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the function did not become ready");
    }

    private record Result(double rate, double p50, double p99, double meanBatch, int errors) {
    }

    private static Result run(byte[] picture, int concurrency, int seconds, List<Long> latencies) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        ExecutorService callers = Executors.newFixedThreadPool(concurrency);
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        AtomicInteger batchSum = new AtomicInteger();
        List<Long> all = Collections.synchronizedList(latencies != null ? latencies : new ArrayList<>());
        long start = System.nanoTime();
        for (int t = 0; t < concurrency; t++) {
            callers.execute(() -> {
                while (System.nanoTime() < end) {
                    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + PORT + "/"))
                            .headers(CloudEvents.pairs(CloudEvents.IMAGE, UUID.randomUUID().toString(), "/load"))
                            .header("Content-Type", "image/jpeg").timeout(Duration.ofSeconds(120))
                            .POST(HttpRequest.BodyPublishers.ofByteArray(picture)).build();
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                        if (response.statusCode() == 200) {
                            ok.incrementAndGet();
                            all.add(System.nanoTime() - t0);
                            int at = response.body().indexOf("\"batchSize\":");
                            if (at >= 0) {
                                batchSum.addAndGet(Character.getNumericValue(response.body().charAt(at + 12)));
                            }
                        } else {
                            errors.incrementAndGet();
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    }
                }
            });
        }
        callers.shutdown();
        callers.awaitTermination(seconds + 180L, TimeUnit.SECONDS);
        double elapsed = (System.nanoTime() - start) / 1e9;
        List<Long> sorted = new ArrayList<>(all);
        Collections.sort(sorted);
        double p50 = sorted.isEmpty() ? Double.NaN : sorted.get(sorted.size() / 2) / 1e6;
        double p99 = sorted.isEmpty() ? Double.NaN : sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * 0.99))) / 1e6;
        return new Result(ok.get() / elapsed, p50, p99, ok.get() == 0 ? 0 : (double) batchSum.get() / ok.get(), errors.get());
    }
}
