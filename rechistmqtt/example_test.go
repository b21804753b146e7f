package rechistmqtt_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/rechistmqtt"
)

// Record what a Zigbee2MQTT bridge publishes until Ctrl-C: the topic
// zigbee2mqtt/kitchen/temperature becomes the record
// zigbee2mqtt.kitchen.temperature.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	db, err := rechist.Open(ctx, "./data/history.db")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	rec, err := rechistmqtt.New(db, "mqtt://localhost:1883", []string{"zigbee2mqtt/#"},
		rechistmqtt.WithConnectionEvents(func(e rechistmqtt.Event) {
			if e.Kind == rechistmqtt.Lost {
				log.Printf("lost %s: %v", e.Broker, e.Err)
			}
		}))
	if err != nil {
		log.Fatal(err)
	}
	if err := rec.Run(ctx); err != nil { // until Ctrl-C
		log.Fatal(err)
	}
	s := rec.Stats()
	fmt.Printf("%d messages, %d rows, %d skipped, %d refused\n", s.Messages, s.Rows, s.Skipped(), s.Refused())
}

// The record names and values a few typical messages become, without a
// broker: what Recorder stores for each.
func ExampleRecordName() {
	for _, topic := range []string{"zigbee2mqtt/kitchen/temperature", "tele/tasmota_1/SENSOR", "a//b"} {
		name, err := rechistmqtt.RecordName(topic, "", false)
		fmt.Println(topic, "->", name, err)
	}
	for _, payload := range []string{"21.5", "ON", `{"temperature": 21.5}`, ""} {
		v, ok := rechistmqtt.RecordValue([]byte(payload))
		fmt.Printf("%q -> %s %v\n", payload, v, ok)
	}
	// Output:
	// zigbee2mqtt/kitchen/temperature -> zigbee2mqtt.kitchen.temperature <nil>
	// tele/tasmota_1/SENSOR -> tele.tasmota_1.SENSOR <nil>
	// a//b ->  topic has an empty level
	// "21.5" -> 21.5 true
	// "ON" -> "ON" true
	// "{\"temperature\": 21.5}" -> {"temperature":21.5} true
	// "" ->  false
}
