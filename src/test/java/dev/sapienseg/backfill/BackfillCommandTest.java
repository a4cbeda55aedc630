package dev.sapienseg.backfill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URL;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;

import dev.sapienseg.fixtures.Readiness;
import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.storage.OutputKeys;
import dev.sapienseg.storage.S3ProxyResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The backfill command end to end: a real S3-compatible server holding pictures, and as the sink the function itself
 * (which reads each picture and writes its results back) or a recording HTTP server standing in for a Broker; rate,
 * concurrency, retries, refusals, resuming from the state file and skipping what is complete.
 */
@QuarkusTest
@WithTestResource(S3ProxyResource.class)
@Tag("timing")
class BackfillCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String OUTPUT_PREFIX = "sapiens-seg/";

    @TestHTTPResource("/")
    URL function;

    @TempDir
    Path tmp;

    private byte[] figure;

    @BeforeEach
    void ready() throws Exception {
        Readiness.awaitReady();
        figure = Files.readAllBytes(SampleImages.FIGURE_JPG);
    }

    private static Map<String, String> s3Config() {
        return Map.of("quarkus.s3.endpoint-override", S3ProxyResource.endpoint(),
                "quarkus.s3.aws.region", "us-east-1",
                "quarkus.s3.aws.credentials.static-provider.access-key-id", S3ProxyResource.ACCESS_KEY,
                "quarkus.s3.aws.credentials.static-provider.secret-access-key", S3ProxyResource.SECRET_KEY);
    }

    private static void put(String key, byte[] data) {
        try (S3Client s3 = S3ProxyResource.client()) {
            s3.putObject(b -> b.bucket("photos").key(key), RequestBody.fromBytes(data));
        }
    }

    private static boolean exists(String key) {
        try (S3Client s3 = S3ProxyResource.client()) {
            s3.headObject(b -> b.bucket("photos").key(key));
            return true;
        } catch (software.amazon.awssdk.services.s3.model.NoSuchKeyException e) {
            return false;
        }
    }

    record Run(int status, String out) {
    }

    private static Run backfill(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = BackfillCommand.execute(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), s3Config(), args);
        return new Run(status, out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void backfillsABucketThroughTheFunctionAndResumes() throws Exception {
        List<String> pictures = List.of("library/2019/a.jpg", "library/2019/b c.JPG", "library/2020/d.jpg");
        for (String key : pictures) {
            put(key, figure);
        }
        put("library/notes.txt", "not a picture".getBytes(StandardCharsets.UTF_8));
        Path state = tmp.resolve("state.txt");
        String sink = function.toString();

        Run first = backfill("--bucket", "photos", "--prefix", "library/", "--sink", sink, "--concurrency", "2",
                "--state", state.toString(), "--progress", "log");
        assertEquals(0, first.status(), first.out());
        assertTrue(first.out().contains("listed 4 objects: sent 3, skipped 1 (results complete 0, in the state file 0,"
                + " not pictures 1"), first.out());
        for (String key : pictures) { // the function read each picture and wrote its results, summary last
            assertTrue(exists(OutputKeys.derive(OUTPUT_PREFIX, null, key).summary()), key + "\n" + first.out());
        }
        assertEquals(pictures.stream().sorted().toList(), Files.readAllLines(state).stream().sorted().toList());

        // Resumed with the state file: nothing is asked of the store or sent again.
        Run resumed = backfill("--bucket", "photos", "--prefix", "library/", "--sink", sink, "--state", state.toString());
        assertEquals(0, resumed.status(), resumed.out());
        assertTrue(resumed.out().contains("sent 0, skipped 4 (results complete 0, in the state file 3"), resumed.out());

        // Without it, the results themselves say the pictures are done; a replaced picture is sent again.
        put("library/2020/d.jpg", SampleImagesBytes.otherJpeg());
        Run again = backfill("--bucket", "photos", "--prefix", "library/", "--sink", sink);
        assertEquals(0, again.status(), again.out());
        assertTrue(again.out().contains("sent 1, skipped 3 (results complete 2, in the state file 0, not pictures 1"),
                again.out());
    }

    @Test
    void staysWithinItsRateAndConcurrencyAndRetriesWhatARetryCanFix() throws Exception {
        for (int i = 0; i < 12; i++) {
            put("bounds/p" + i + ".jpg", figure);
        }
        AtomicInteger busy = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        AtomicInteger refusals = new AtomicInteger(2); // the first two get 503 + Retry-After: 0
        List<JsonNode> received = Collections.synchronizedList(new ArrayList<>());
        List<String> types = Collections.synchronizedList(new ArrayList<>());
        HttpServer broker = recordingSink(() -> refusals.getAndDecrement() > 0 ? 503 : 202, busy, most, received, types);
        try {
            String sink = "http://127.0.0.1:" + broker.getAddress().getPort() + "/sapiens/default";
            long start = System.nanoTime();
            Run run = backfill("--bucket", "photos", "--prefix", "bounds/", "--sink", sink, "--rate", "10",
                    "--concurrency", "3", "--force");
            double seconds = (System.nanoTime() - start) / 1e9;
            assertEquals(0, run.status(), run.out());
            assertTrue(run.out().contains("listed 12 objects: sent 12, skipped 0"), run.out());
            assertEquals(14, received.size(), "12 notifications and 2 retries");
            assertTrue(seconds >= 1.2, "14 sends at 10/s take at least 1.3 s, took " + seconds);
            assertTrue(most.get() <= 3 && most.get() >= 2, "at most 3 at once, saw " + most.get());
            assertTrue(types.stream().allMatch("com.amazonaws.s3.ObjectCreated:Put"::equals), types.toString());
            JsonNode object = received.get(received.size() - 1).path("Records").get(0).path("s3").path("object");
            String key = URLDecoder.decode(object.path("key").asText(), StandardCharsets.UTF_8);
            assertTrue(key.matches("bounds/p\\d+\\.jpg"), key);
            assertTrue(object.path("eTag").asText().matches("[0-9a-f]{32}"), object.toString());
        } finally {
            broker.stop(0);
        }
    }

    @Test
    void aRefusedNotificationIsAFailureThatIsListed() throws Exception {
        put("refused/x.jpg", figure);
        HttpServer broker = recordingSink(() -> 400, new AtomicInteger(), new AtomicInteger(),
                Collections.synchronizedList(new ArrayList<>()), Collections.synchronizedList(new ArrayList<>()));
        try {
            Run run = backfill("--bucket", "photos", "--prefix", "refused/", "--sink",
                    "http://127.0.0.1:" + broker.getAddress().getPort() + "/", "--force");
            assertEquals(1, run.status(), run.out());
            assertTrue(run.out().contains("failed 1") && run.out().contains("failed: refused/x.jpg: HTTP 400 bad-option"),
                    run.out());
        } finally {
            broker.stop(0);
        }
        Run missing = backfill("--bucket", "nope", "--sink", "http://127.0.0.1:9/");
        assertEquals(2, missing.status(), missing.out());
        assertTrue(missing.out().contains("no such bucket: nope"), missing.out());
    }

    /** A stand-in Broker ingress: records each CloudEvent, answers with the status given, 400 ms per request. */
    private static HttpServer recordingSink(IntSupplier status, AtomicInteger busy, AtomicInteger most,
            List<JsonNode> received, List<String> types) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.createContext("/", exchange -> {
            int now = busy.incrementAndGet();
            most.accumulateAndGet(now, Math::max);
            boolean counted = true;
            try {
                received.add(JSON.readTree(exchange.getRequestBody().readAllBytes()));
                types.add(exchange.getRequestHeaders().getFirst("ce-type"));
                Thread.sleep(400);
                int code = status.getAsInt();
                // No longer busy before the answer leaves: the client may send its next request the moment it has
                // one, and that request must not be counted beside this one (it was, once, under load).
                busy.decrementAndGet();
                counted = false;
                if (code == 503) {
                    exchange.getResponseHeaders().add("Retry-After", "0");
                }
                byte[] body = code == 400 ? "{\"error\":\"bad-option\",\"message\":\"no\"}".getBytes(StandardCharsets.UTF_8)
                        : new byte[0];
                exchange.sendResponseHeaders(code, body.length == 0 ? -1 : body.length);
                if (body.length > 0) {
                    exchange.getResponseBody().write(body);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                if (counted) {
                    busy.decrementAndGet();
                }
                exchange.close();
            }
        });
        server.start();
        return server;
    }

    /** A second, different JPEG: a replaced picture has a new ETag. */
    static final class SampleImagesBytes {
        static byte[] otherJpeg() throws Exception {
            byte[] original = Files.readAllBytes(SampleImages.FIGURE_JPG);
            byte[] changed = original.clone();
            // A JPEG comment segment after SOI changes the bytes (and the ETag), not the picture.
            byte[] comment = "\u00ff\u00fe\u0000\u0007other".getBytes(StandardCharsets.ISO_8859_1);
            byte[] out = new byte[changed.length + comment.length];
            System.arraycopy(changed, 0, out, 0, 2);
            System.arraycopy(comment, 0, out, 2, comment.length);
            System.arraycopy(changed, 2, out, 2 + comment.length, changed.length - 2);
            return out;
        }
    }
}
