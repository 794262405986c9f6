import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.SubscriptionInitialPosition;

/**
 * The Java side of the interoperability test: a plain Pulsar Java client
 * application, run under the OpenTelemetry Java agent. It subscribes to one
 * topic twice (a MessageListener, which the agent traces as `process`, and a
 * receive() loop, traced as `receive`), says `ready`, sends a burst of keyed
 * messages (batched, so their ids carry a batch index), then waits until each
 * subscription has seen the expected number of messages.
 *
 * Arguments: serviceUrl topic listenerSubscription receiveSubscription
 * messagesToSend messagesToReceive timeoutSeconds. Every event is one JSON
 * line on stdout; the process exits 0 when everything arrived, 2 on timeout.
 */
public final class KeyscopeInterop {
  private KeyscopeInterop() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 7) {
      System.err.println(
          "usage: KeyscopeInterop serviceUrl topic listenerSubscription receiveSubscription"
              + " messagesToSend messagesToReceive timeoutSeconds");
      System.exit(64);
    }
    String serviceUrl = args[0];
    String topic = args[1];
    String listenerSubscription = args[2];
    String receiveSubscription = args[3];
    int toSend = Integer.parseInt(args[4]);
    int toReceive = Integer.parseInt(args[5]);
    long timeoutSeconds = Long.parseLong(args[6]);

    CountDownLatch listened = new CountDownLatch(toReceive);
    try (PulsarClient client = PulsarClient.builder().serviceUrl(serviceUrl).build();
        Consumer<byte[]> listener =
            client
                .newConsumer()
                .topic(topic)
                .subscriptionName(listenerSubscription)
                .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest)
                .messageListener(
                    (Consumer<byte[]> consumer, Message<byte[]> message) -> {
                      emitReceived("listener", message);
                      consumer.acknowledgeAsync(message);
                      listened.countDown();
                    })
                .subscribe();
        Consumer<byte[]> receiver =
            client
                .newConsumer()
                .topic(topic)
                .subscriptionName(receiveSubscription)
                .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest)
                .subscribe();
        Producer<byte[]> producer =
            client
                .newProducer()
                .topic(topic)
                .enableBatching(true)
                .batchingMaxPublishDelay(50, TimeUnit.MILLISECONDS)
                .create()) {
      emit("{\"event\":\"ready\"}");

      List<CompletableFuture<MessageId>> sends = new ArrayList<>();
      for (int index = 0; index < toSend; index++) {
        String key = "java-key-" + (index % 3);
        sends.add(
            producer
                .newMessage()
                .key(key)
                .property("interop-index", Integer.toString(index))
                .value(("java message " + index).getBytes(StandardCharsets.UTF_8))
                .sendAsync());
      }
      producer.flush();
      for (int index = 0; index < toSend; index++) {
        MessageId id = sends.get(index).get(timeoutSeconds, TimeUnit.SECONDS);
        emit(
            "{\"event\":\"sent\",\"index\":"
                + index
                + ",\"messageId\":"
                + quote(id.toString())
                + "}");
      }

      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
      for (int received = 0; received < toReceive; received++) {
        long leftMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        Message<byte[]> message =
            leftMillis > 0 ? receiver.receive((int) leftMillis, TimeUnit.MILLISECONDS) : null;
        if (message == null) {
          emit("{\"event\":\"timeout\",\"via\":\"receive\",\"received\":" + received + "}");
          System.exit(2);
        }
        emitReceived("receive", message);
        receiver.acknowledge(message);
      }
      long leftMillis = Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
      if (!listened.await(leftMillis, TimeUnit.MILLISECONDS)) {
        emit(
            "{\"event\":\"timeout\",\"via\":\"listener\",\"received\":"
                + (toReceive - listened.getCount())
                + "}");
        System.exit(2);
      }
    }
    emit("{\"event\":\"done\"}");
  }

  private static void emitReceived(String via, Message<byte[]> message) {
    StringBuilder properties = new StringBuilder("{");
    for (Map.Entry<String, String> property : message.getProperties().entrySet()) {
      if (properties.length() > 1) {
        properties.append(',');
      }
      properties.append(quote(property.getKey())).append(':').append(quote(property.getValue()));
    }
    properties.append('}');
    emit(
        "{\"event\":\"received\",\"via\":"
            + quote(via)
            + ",\"messageId\":"
            + quote(message.getMessageId().toString())
            + ",\"key\":"
            + quote(message.hasKey() ? message.getKey() : "")
            + ",\"properties\":"
            + properties
            + "}");
  }

  private static synchronized void emit(String line) {
    System.out.println(line);
    System.out.flush();
  }

  private static String quote(String text) {
    StringBuilder out = new StringBuilder(text.length() + 2).append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }
}
