package dev.sapienseg.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.HttpClients;
import dev.sapienseg.fixtures.HttpClients.Answer;
import dev.sapienseg.fixtures.PackagedApp;
import dev.sapienseg.fixtures.SampleImages;

/**
 * The pod restarted three times (SIGTERM; SIGKILL if it outlives the grace period) while clients keep it at capacity:
 * every request sent ends as 200 or a retryable 429/503, none as a connection dropped without an answer.
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

    @Test
    void everyRequestEndsAnsweredOrRetryableAcrossThreeRestarts() throws Exception {
        byte[] picture = Files.readAllBytes(SampleImages.FIGURE_JPG);
        String[] settings = { "sapiens.limits.max-in-flight=4", "sapiens.batching.max-batch-size=2",
                "sapiens.batching.max-delay=20ms" };
        PackagedApp pod = PackagedApp.start(PORT, settings);
        List<Thread> threads = new ArrayList<>();
        try {
            pod.awaitReady(Duration.ofSeconds(60));
            threads.add(daemon(this::endpoints));
            // Six callers against four admitted at once: the pod is at capacity and refuses some with 429.
            for (HttpClients.Kind kind : List.of(HttpClients.Kind.JDK_HTTP_1_1, HttpClients.Kind.JDK_H2C_UPGRADE)) {
                for (int i = 0; i < 3; i++) {
                    threads.add(daemon(() -> caller(kind, picture)));
                }
            }
            int[] answeredBefore = new int[3];
            for (int restart = 0; restart < 3; restart++) {
                Thread.sleep(4000);
                answeredBefore[restart] = answered.get();
                pod.terminate();
                if (pod.awaitExit(GRACE) < 0) {
                    pod.kill(); // the kubelet's SIGKILL after terminationGracePeriodSeconds
                }
                assertTrue(pod.log().contains("every request in flight answered"), pod.log());
                pod.close();
                pod = PackagedApp.start(PORT, settings);
                pod.awaitReady(Duration.ofSeconds(60));
            }
            Thread.sleep(4000);
            running = false;
            for (Thread thread : threads) {
                thread.join(40_000);
            }
            assertEquals(List.of(), dropped, "requests that got no answer");
            assertTrue(answered.get() > answeredBefore[2], "the restarted pods answered: " + answered);
            System.out.printf("restarts under load: %d answered 200, %d refused 429/503, %d not connected%n",
                    answered.get(), refusedRetryable.get(), notConnected.get());
        } finally {
            running = false;
            pod.close();
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
                    } else {
                        dropped.add(kind + ": " + e.getCause());
                    }
                }
            }
        } catch (Exception e) {
            dropped.add(kind + ": the caller stopped: " + e);
        }
    }
}
