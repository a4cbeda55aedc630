package dev.sapienseg.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.HttpClients;
import dev.sapienseg.fixtures.HttpClients.Answer;
import dev.sapienseg.fixtures.PackagedApp;
import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.storage.S3ProxyResource;
import dev.sapienseg.storage.StoredOutputs;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The pod restarted three times (SIGTERM; SIGKILL if it outlives the grace period), then crashed once (SIGKILL at a
 * random moment, as the OOM killer or a node failure does), while clients keep it at capacity with pictures and
 * storage notifications. Across the restarts every request sent ends as 200 or a retryable 429/503, none as a
 * connection dropped without an answer. Storage notifications are delivered as a broker does (redelivered on a
 * retryable status or a lost connection, so also across the crash), and afterwards every object's output prefix holds
 * exactly the outputs its delivery's reply lists, with their ETags: complete, and nothing left by an attempt the crash
 * cut short.
 *
 * <p>Traffic is routed as Kubernetes does it: the clients send only while the pod's readiness (polled every 100 ms, as
 * an endpoints controller and kube-proxy would see it) says ready. Requests sent before the endpoint update gets
 * round are the ones the shutdown delay exists for; they must be answered 503, and those in flight finished.
 */
@Tag("timing")
class RestartsUnderLoadIT {

    private static final int PORT = 18093;
    private static final Duration GRACE = Duration.ofSeconds(35);

    private volatile boolean routed;
    private volatile boolean running = true;
    private final AtomicInteger answered = new AtomicInteger();
    private final AtomicInteger refusedRetryable = new AtomicInteger();
    private final AtomicInteger notConnected = new AtomicInteger();
    private final List<String> dropped = Collections.synchronizedList(new ArrayList<>());
    /** Set while the pod crashes and comes back: a connection lost then is the crash's, not a dropped answer. */
    private volatile boolean crashing;
    private final AtomicInteger picturesCutByCrash = new AtomicInteger();
    private final AtomicInteger deliveriesCutByCrash = new AtomicInteger();
    private final AtomicInteger deliveriesInFlight = new AtomicInteger();
    /** Per delivered object, the outputs its 200 reply lists. */
    private final Map<String, Map<String, String>> delivered = new ConcurrentHashMap<>();

    @Test
    void everyRequestEndsAnsweredOrRetryableAcrossRestartsAndEveryObjectCompleteAfterACrash() throws Exception {
        byte[] picture = Files.readAllBytes(SampleImages.FIGURE_JPG);
        S3ProxyResource s3proxy = new S3ProxyResource();
        List<String> settings = new ArrayList<>(List.of("sapiens.limits.max-in-flight=4",
                "sapiens.batching.max-batch-size=2", "sapiens.batching.max-delay=20ms"));
        s3proxy.start().forEach((key, value) -> settings.add(key + "=" + value));
        PackagedApp pod = PackagedApp.start(PORT, settings.toArray(String[]::new));
        List<Thread> threads = new ArrayList<>();
        long seed = Long.getLong("restarts.seed", System.nanoTime());
        Random random = new Random(seed);
        try (S3Client s3 = S3ProxyResource.client()) {
            pod.awaitReady(Duration.ofSeconds(60));
            threads.add(daemon(this::endpoints));
            // Eight callers against four admitted at once: the pod is at capacity and refuses some with 429.
            for (HttpClients.Kind kind : List.of(HttpClients.Kind.JDK_HTTP_1_1, HttpClients.Kind.JDK_H2C_UPGRADE)) {
                for (int i = 0; i < 3; i++) {
                    threads.add(daemon(() -> caller(kind, picture)));
                }
            }
            for (HttpClient.Version version : List.of(HttpClient.Version.HTTP_1_1, HttpClient.Version.HTTP_2)) {
                threads.add(daemon(() -> broker(version, s3, picture)));
            }
            int[] answeredBefore = new int[4];
            for (int restart = 0; restart < 4; restart++) {
                Thread.sleep(4000);
                answeredBefore[restart] = answered.get();
                if (restart < 3) {
                    pod.terminate();
                    if (pod.awaitExit(GRACE) < 0) {
                        pod.kill(); // the kubelet's SIGKILL after terminationGracePeriodSeconds
                    }
                    assertTrue(pod.log().contains("every request in flight answered"), pod.log());
                } else {
                    // a random moment while a storage delivery runs (the brokers are nearly always delivering)
                    for (int waited = 0; deliveriesInFlight.get() == 0 && waited < 10_000; waited += 10) {
                        Thread.sleep(10);
                    }
                    Thread.sleep(random.nextInt(200));
                    crashing = true;
                    pod.kill();
                    pod.awaitExit(GRACE);
                }
                pod.close();
                pod = PackagedApp.start(PORT, settings.toArray(String[]::new));
                pod.awaitReady(Duration.ofSeconds(60));
                crashing = false;
            }
            Thread.sleep(4000);
            running = false;
            for (Thread thread : threads) {
                thread.join(160_000);
            }
            assertEquals(List.of(), dropped, "requests that got no answer");
            assertTrue(answered.get() > answeredBefore[3], "the restarted pods answered: " + answered);
            assertTrue(delivered.size() >= 4, "objects delivered: " + delivered.size());
            for (Map.Entry<String, Map<String, String>> object : delivered.entrySet()) {
                assertEquals(object.getValue(), StoredOutputs.listed(s3, object.getKey()), object.getKey());
            }
            System.out.printf("restarts under load: %d answered 200, %d refused 429/503, %d not connected; crash cut %d"
                    + " pictures and %d storage deliveries; %d objects delivered complete (-Drestarts.seed=%d)%n",
                    answered.get(), refusedRetryable.get(), notConnected.get(), picturesCutByCrash.get(),
                    deliveriesCutByCrash.get(), delivered.size(), seed);
        } finally {
            running = false;
            pod.close();
            s3proxy.stop();
        }
    }

    private static Thread daemon(Runnable work) {
        Thread thread = new Thread(work);
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    /** The endpoints controller and kube-proxy: route to the pod while its readiness is UP. */
    private void endpoints() {
        HttpClient poller = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(1)).build();
        URI ready = URI.create("http://127.0.0.1:" + PORT + "/q/health/ready");
        while (running) {
            try {
                routed = poller.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(1)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (Exception e) {
                routed = false;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void caller(HttpClients.Kind kind, byte[] picture) {
        try (HttpClients client = HttpClients.open(kind, URI.create("http://127.0.0.1:" + PORT + "/"))) {
            while (running) {
                if (!routed) {
                    Thread.sleep(20);
                    continue;
                }
                try {
                    Answer answer = client.postImage(picture).get(30, TimeUnit.SECONDS);
                    if (answer.status() == 200) {
                        answered.incrementAndGet();
                    } else if (answer.status() == 429 || answer.status() == 503) {
                        refusedRetryable.incrementAndGet();
                        Thread.sleep(100);
                    } else {
                        dropped.add(kind + ": status " + answer.status() + " " + answer.body());
                    }
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof ConnectException) {
                        notConnected.incrementAndGet(); // nothing was sent: the pod is not listening
                        Thread.sleep(100);
                    } else if (crashing) {
                        picturesCutByCrash.incrementAndGet(); // lost with the pod; a broker would send it again
                    } else {
                        dropped.add(kind + ": " + e.getCause());
                    }
                }
            }
        } catch (Exception e) {
            dropped.add(kind + ": the caller stopped: " + e);
        }
    }

    /**
     * A broker's deliveries of storage notifications: each object uploaded anew, its notification sent until it is
     * answered 200, redelivered on 429/503 or a lost connection; the last delivery finishes after the load stops.
     */
    private void broker(HttpClient.Version version, S3Client s3, byte[] picture) {
        HttpClient client = HttpClient.newBuilder().version(version).connectTimeout(Duration.ofSeconds(2)).build();
        for (int n = 0; running; n++) {
            String key = "restarts/" + version + "-" + n + ".jpg";
            s3.putObject(b -> b.bucket("photos").key(key), RequestBody.fromBytes(picture));
            HttpRequest notification = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + PORT
                    + "/storage/notifications")).header("Content-Type", "application/json")
                    .timeout(Duration.ofSeconds(30))
                    .POST(HttpRequest.BodyPublishers.ofString(StoredOutputs.minioNotification("photos", key))).build();
            long deadline = System.nanoTime() + Duration.ofSeconds(150).toNanos(); // a restart on a busy machine
            while (!delivered.containsKey(key)) {
                try {
                    if (System.nanoTime() > deadline) {
                        dropped.add(version + " storage: " + key + " never delivered");
                        return;
                    }
                    if (!routed) {
                        Thread.sleep(20);
                        continue;
                    }
                    HttpResponse<String> answer;
                    deliveriesInFlight.incrementAndGet();
                    try {
                        answer = client.send(notification, HttpResponse.BodyHandlers.ofString());
                    } finally {
                        deliveriesInFlight.decrementAndGet();
                    }
                    if (answer.statusCode() == 200) {
                        delivered.put(key, StoredOutputs.replied(answer.body()));
                    } else if (answer.statusCode() == 429 || answer.statusCode() == 503) {
                        refusedRetryable.incrementAndGet();
                        Thread.sleep(100);
                    } else {
                        dropped.add(version + " storage: status " + answer.statusCode() + " " + answer.body());
                        return;
                    }
                } catch (ConnectException e) {
                    notConnected.incrementAndGet();
                } catch (IOException e) {
                    if (crashing) {
                        deliveriesCutByCrash.incrementAndGet();
                    } else {
                        dropped.add(version + " storage: " + key + ": " + e);
                    }
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }
}
