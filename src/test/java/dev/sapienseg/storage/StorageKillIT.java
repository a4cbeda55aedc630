package dev.sapienseg.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;


import dev.sapienseg.fixtures.PackagedApp;
import dev.sapienseg.fixtures.SampleImages;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The packaged function killed with SIGKILL at random points while it handles a storage notification, then started
 * again and the notification redelivered: the redelivery answers 200 and afterwards the output prefix holds exactly
 * the objects the summary lists, each with the listed ETag; nothing the killed attempt wrote is read as complete or
 * left behind.
 */
@Tag("timing")
class StorageKillIT {

    private static final int PORT = 18097;

    @Test
    void aKilledStorageWriteIsRedeliveredIntoExactlyTheListedOutputs() throws Exception {
        S3ProxyResource s3proxy = new S3ProxyResource();
        List<String> properties = new ArrayList<>();
        s3proxy.start().forEach((key, value) -> properties.add(key + "=" + value));
        byte[] figure = Files.readAllBytes(SampleImages.FIGURE_JPG);
        long seed = Long.getLong("kill.seed", System.nanoTime());
        Random random = new Random(seed);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        int midWrite = 0;
        long whole = 0;
        try (S3Client s3 = S3ProxyResource.client()) {
            for (int round = 0; round < 5; round++) {
                String key = "killed/" + round + ".jpg";
                s3.putObject(b -> b.bucket("photos").key(key), RequestBody.fromBytes(figure));
                HttpRequest notification = HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + PORT + "/storage/notifications"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(StoredOutputs.minioNotification("photos", key)))
                        .build();
                try (PackagedApp app = PackagedApp.start(PORT, properties.toArray(String[]::new))) {
                    app.awaitReady(Duration.ofSeconds(60));
                    long start = System.nanoTime();
                    CompletableFuture<HttpResponse<String>> sent = http.sendAsync(notification,
                            HttpResponse.BodyHandlers.ofString());
                    if (round == 0) {
                        // Measures one whole delivery; the outputs are written in its last part.
                        assertEquals(200, sent.join().statusCode());
                        whole = System.nanoTime() - start;
                        continue;
                    }
                    Thread.sleep(Duration.ofNanos((long) (whole * (0.5 + 0.6 * random.nextDouble()))).toMillis());
                    app.kill();
                    app.awaitExit(Duration.ofSeconds(30));
                    sent.handle((r, e) -> null).join();
                }
                Map<String, String> left = StoredOutputs.listed(s3, key);
                boolean summary = left.keySet().stream().anyMatch(k -> k.endsWith(".json"));
                midWrite += !left.isEmpty() && !summary ? 1 : 0;
                try (PackagedApp app = PackagedApp.start(PORT, properties.toArray(String[]::new))) {
                    app.awaitReady(Duration.ofSeconds(60));
                    HttpResponse<String> redelivered = http.send(notification, HttpResponse.BodyHandlers.ofString());
                    assertEquals(200, redelivered.statusCode(), redelivered.body());
                    assertEquals(StoredOutputs.replied(redelivered.body()), StoredOutputs.listed(s3, key),
                            "after a kill that left " + left.keySet() + " (-Dkill.seed=" + seed + ")");
                }
            }
        } finally {
            s3proxy.stop();
        }
        System.out.printf("storage kills: %d of 4 left objects without a summary (a delivery takes %d ms; seed %d)%n",
                midWrite, whole / 1_000_000, seed);
    }
}
