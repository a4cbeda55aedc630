package dev.sapienseg.bench;

import dev.sapienseg.fixtures.CloudEvents;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.sapienseg.fixtures.FixtureModels;

/**
 * What the wire format costs: one 1920x1080 photo-like JPEG per request, sequentially, against the packaged function
 * on the palette demo model (inference is cheap there, so the encoding shows), the request kinds alternated round
 * by round in one run; medians of the client-side latency and the response size. Not a test:
 *
 * <pre>
 * mvn -B package -DskipTests
 * mvn -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.sapienseg.bench.ProtocolBenchmark -Dexec.args="30"
 * </pre>
 *
 * The argument is the number of rounds (after 5 of warm-up). Loopback only, bounded by the round count.
 */
public final class ProtocolBenchmark {

    private static final int PORT = 18090;
    private static final String BASE = "http://127.0.0.1:" + PORT;

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        byte[] picture = StageBenchmark.photoLikeJpeg(1920, 1080, 7);
        String b64 = Base64.getEncoder().encodeToString(picture);
        String jsonInput = "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"" + b64 + "\"]}]";
        byte[] element = ByteBuffer.allocate(4 + picture.length).order(ByteOrder.LITTLE_ENDIAN).putInt(picture.length)
                .put(picture).array();
        Map<String, HttpRequest> kinds = new LinkedHashMap<>();
        kinds.put("CloudEvent, binary mode, reply with class PNG (base64)", HttpRequest.newBuilder(URI.create(BASE + "/"))
                .headers(CloudEvents.pairs(CloudEvents.IMAGE, "1", "/bench")).header("ce-sapiensoutputs", "class-png")
                .header("Content-Type", "image/jpeg").POST(HttpRequest.BodyPublishers.ofByteArray(picture)).build());
        kinds.put("OIP JSON in, class_png JSON (base64)", json(jsonInput + ",\"outputs\":[{\"name\":\"class_png\"}]}"));
        kinds.put("OIP JSON in, class_map JSON (numbers)", json(jsonInput + ",\"outputs\":[{\"name\":\"class_map\"}]}"));
        kinds.put("OIP binary in, class_map binary", binary(element, "class_map"));
        kinds.put("OIP binary in, class_png binary", binary(element, "class_png"));

        Process app = start();
        HttpClient client = HttpClient.newHttpClient();
        try {
            awaitReady(client);
            Map<String, List<Double>> millis = new LinkedHashMap<>();
            Map<String, Long> bytes = new LinkedHashMap<>();
            for (int round = 0; round < rounds + 5; round++) {
                for (Map.Entry<String, HttpRequest> kind : kinds.entrySet()) {
                    long start = System.nanoTime();
                    HttpResponse<byte[]> r = client.send(kind.getValue(), HttpResponse.BodyHandlers.ofByteArray());
                    double ms = (System.nanoTime() - start) / 1e6;
                    if (r.statusCode() != 200) {
                        throw new IllegalStateException(kind.getKey() + ": " + r.statusCode() + " "
                                + new String(r.body(), StandardCharsets.UTF_8));
                    }
                    if (round >= 5) {
                        millis.computeIfAbsent(kind.getKey(), k -> new ArrayList<>()).add(ms);
                        bytes.put(kind.getKey(), (long) r.body().length);
                    }
                }
            }
            System.out.printf("1920x1080 JPEG (%d KB), palette demo model, %d rounds, %d cores%n", picture.length / 1024,
                    rounds, Runtime.getRuntime().availableProcessors());
            System.out.println("| request | median ms | response KB |");
            System.out.println("|---|---|---|");
            for (String kind : kinds.keySet()) {
                System.out.printf("| %s | %.1f | %d |%n", kind, median(millis.get(kind)), bytes.get(kind) / 1024);
            }
        } finally {
            app.destroy();
            app.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static HttpRequest json(String body) {
        return HttpRequest.newBuilder(URI.create(BASE + "/v2/models/sapiens-palette-demo/infer"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static HttpRequest binary(byte[] element, String output) {
        byte[] header = ("{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"parameters\":"
                + "{\"binary_data_size\":" + element.length + "}}],\"outputs\":[{\"name\":\"" + output
                + "\",\"parameters\":{\"binary_data\":true}}]}").getBytes(StandardCharsets.UTF_8);
        byte[] body = new byte[header.length + element.length];
        System.arraycopy(header, 0, body, 0, header.length);
        System.arraycopy(element, 0, body, header.length, element.length);
        return HttpRequest.newBuilder(URI.create(BASE + "/v2/models/sapiens-palette-demo/infer"))
                .header("Inference-Header-Content-Length", String.valueOf(header.length))
                .header("Content-Type", "application/octet-stream").POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(null);
        return sorted.get(sorted.size() / 2);
    }

    private static Process start() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder app = new ProcessBuilder(java.toString(), "-Dquarkus.http.port=" + PORT,
                "-Dsapiens.model.path=" + FixtureModels.PALETTE_DEMO, "-Dquarkus.log.level=WARN",
                "-jar", "target/quarkus-app/quarkus-run.jar")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        app.environment().put("OPENBLAS_NUM_THREADS", "1");
        return app.start();
    }

    private static void awaitReady(HttpClient client) throws Exception {
        long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < until) {
            try {
                if (client.send(HttpRequest.newBuilder(URI.create(BASE + "/v2/health/ready")).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("not ready in 60 s");
    }
}
