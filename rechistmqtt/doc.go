// Package rechistmqtt records what an MQTT broker publishes into a rechist
// history: each message on the subscribed topic filters becomes a row. It
// is the library behind `rechist record`, a package of its own so that the
// root package does not link the MQTT client (Eclipse Paho,
// github.com/eclipse/paho.mqtt.golang v1.5.1).
//
//	rec, err := rechistmqtt.New(db, "mqtt://user:secret@broker:1883", []string{"zigbee2mqtt/#"})
//	if err != nil {
//		return err
//	}
//	err = rec.Run(ctx) // until ctx is done; rec.Stats() for metrics meanwhile
//
// # Names
//
// The topic zigbee2mqtt/kitchen/temperature becomes the record
// zigbee2mqtt.kitchen.temperature ('/' turned into '.', so that
// rechist.WithTopicPatterns patterns select what the MQTT filters
// subscribed), after WithPrefix's prefix; WithSlashes keeps the '/'. A
// topic with an empty level, a NUL byte, or a name longer than
// rechist.MaxNameBytes is refused: counted (Stats.RefusedName), logged,
// never stored.
//
// # Values
//
// A payload that is JSON text is stored as it is (compacted): 21.5, true,
// null, "text", {"temperature":21.5}. Any other UTF-8 text is stored as a
// JSON string: ON becomes "ON", 21,5 becomes "21,5". An empty payload (a
// retained message being cleared) and one that is not UTF-8 are skipped and
// counted. A value Store refuses (a number beyond float64's range, an
// escaped lone surrogate) is counted in Stats.RefusedValue and logged with
// its topic. The row's time is the message's time of arrival, or, with
// WithTimeField, the time in a field of the JSON object.
//
// # Delivery
//
// The Recorder subscribes with QoS 1 on a persistent session (a stable
// client id, clean session off), again on every connection, and
// acknowledges each message only after its row is committed, in the order
// the messages arrived, so a message published while it is down,
// restarting or disconnected is delivered and stored when it connects
// again, as long as the broker keeps it (mosquitto: max_queued_messages,
// 1000 per client by default, and persistence across broker restarts).
// The default client id (DefaultClientID) is a hash of the database and
// the filters, not of the host: a container recreated with the same
// volume finds its session again; set WithClientID where two recorders
// could share a path and filters.
//
// A row acknowledged to the broker survives a power loss only if db was
// opened at rechist.SyncFull (the default, and what `rechist record`
// uses): at SyncNormal the last commits can be lost with the machine after
// the broker has forgotten their messages.
//
// A message whose row was committed but whose acknowledgement did not
// reach the broker (the process killed in between, the connection lost) is
// delivered again with the DUP flag. With WithTimeField, when the payload
// is a JSON object holding the field, the Recorder looks for a row of the
// same record, time and value and, finding it, does not store the message
// again (Stats.Duplicates). Otherwise (no WithTimeField, or a payload
// without the field or that is not an object: its time is its time of
// arrival) the second delivery cannot be told from a new message: it is
// stored and counted in Stats.Redelivered: one extra row for each message
// in flight (delivered, not acknowledged) at a kill or a lost connection. Retained messages, which the broker sends on every
// SUBSCRIBE, are old values: skipped unless WithRetained, and then stored
// unless the record already holds them (at the payload's time, or else as
// its latest row).
package rechistmqtt
