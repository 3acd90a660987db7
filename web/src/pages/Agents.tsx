import { PageTitle } from '../components/ui'
import { AgentsCard } from './Overview'

export function Agents() {
  return (
    <>
      <PageTitle title="Agents" sub="Every registered agent: what it uploaded and downloaded (settled on chain + verified but pending), its ratio against the tracker's threshold and whether it may leech now." />
      <AgentsCard title="All agents" />
    </>
  )
}
